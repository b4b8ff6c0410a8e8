package io.caravan.bench;

import io.caravan.consent.ConsentPolicy;
import io.caravan.segment.AttributeIndex;
import io.caravan.segment.IndexedAttributes;
import io.caravan.segment.SegmentCatalog;
import io.caravan.segment.SegmentFacts;
import io.caravan.workflow.Conditions;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntPredicate;
import org.springframework.expression.Expression;

/**
 * Segment evaluation over 1,000,000 synthetic contacts (realistic distributions: ages from the US census pyramid's
 * rough shape, sex, 900 ZIP3 areas, English/Spanish/other, 0-6 diagnosis codes with chronic conditions at their US
 * prevalence, visits over five years), each segment beside its baseline in the same run: the same predicate
 * hand-written over plain arrays of the same attributes. Alternating rounds after a warm-up, medians; heap after
 * building the index and the peak.
 */
public final class SegmentBench {

    static final LocalDate TODAY = LocalDate.of(2026, 11, 29);

    /** A segment and its hand-written twin over the plain arrays. */
    record Case(String name, String when, IntPredicate plain) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--contacts", "1000000", "--rounds", "5",
                "--warmup-rounds", "3", "--threads", "2", "--segments", "config/segments", "--policies",
                "config/policies"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i], args[i + 1]);
        }
        int n = Integer.parseInt(a.get("--contacts"));
        int rounds = Integer.parseInt(a.get("--rounds"));
        int warmup = Integer.parseInt(a.get("--warmup-rounds"));
        int threads = Integer.parseInt(a.get("--threads"));
        // code sets as the hub reads them
        new SegmentCatalog(Path.of(a.get("--segments")), ConsentPolicy.load(Path.of(a.get("--policies"))));

        // ---- the synthetic population, as plain arrays (the baseline's data) ----
        SplittableRandom rnd = new SplittableRandom(16);
        int today = (int) TODAY.toEpochDay();
        int[] birth = new int[n];
        byte[] sex = new byte[n];
        short[] zip3 = new short[n];
        byte[] lang = new byte[n];
        int[] visit = new int[n];
        String[][] codes = new String[n][];
        String[] chronic = {"I10", "E78.5", "E11.9", "J45.909", "E66.9", "M17.11", "N18.3", "I25.10", "J44.9",
            "F32.9", "K21.9", "E03.9"};
        double[] prevalence = {0.30, 0.25, 0.11, 0.08, 0.20, 0.06, 0.05, 0.06, 0.05, 0.08, 0.10, 0.05};
        String[] acute = {"Z00.00", "J06.9", "R05.9", "M54.50", "N39.0", "S93.401A", "R10.9", "Z23"};
        String[] languages = {"en", "es", "zh", "vi", "fr"};
        for (int i = 0; i < n; i++) {
            int age = (int) Math.min(100, Math.abs(rnd.nextGaussian() * 24 + 40));
            birth[i] = today - age * 365 - rnd.nextInt(365);
            sex[i] = (byte) (rnd.nextInt(100) < 51 ? 2 : 1);
            zip3[i] = (short) (10 + rnd.nextInt(990));
            int l = rnd.nextInt(100);
            lang[i] = (byte) (l < 75 ? 0 : l < 93 ? 1 : 2 + rnd.nextInt(3));
            visit[i] = rnd.nextInt(100) < 8 ? Integer.MIN_VALUE : today - rnd.nextInt(5 * 365);
            List<String> cs = new ArrayList<>();
            double ageFactor = age / 50.0;
            for (int k = 0; k < chronic.length && cs.size() < 6; k++) {
                if (rnd.nextDouble() < prevalence[k] * ageFactor) {
                    cs.add(chronic[k]);
                }
            }
            if (cs.size() < 6 && rnd.nextBoolean()) {
                cs.add(acute[rnd.nextInt(acute.length)]);
            }
            codes[i] = cs.toArray(new String[0]);
        }

        // ---- the index, built as the hub builds it at start ----
        System.gc();
        long heapBefore = used();
        long t0 = System.nanoTime();
        AttributeIndex index = new AttributeIndex();
        for (int i = 0; i < n; i++) {
            index.put(new UUID(i, i), new IndexedAttributes(LocalDate.ofEpochDay(birth[i]).toString(),
                    sex[i] == 2 ? "female" : "male", String.format("%03d", zip3[i]), null, languages[lang[i]],
                    List.of(codes[i]), visit[i] == Integer.MIN_VALUE ? null : LocalDate.ofEpochDay(visit[i])
                            .toString(), null, null));
        }
        long buildMs = (System.nanoTime() - t0) / 1_000_000;
        System.gc();
        long heapIndex = used() - heapBefore;
        System.out.printf("index: %,d contacts built in %,d ms; index heap about %,d MB (%d bytes/contact)%n", n,
                buildMs, heapIndex >> 20, heapIndex / n);

        List<Case> cases = List.of(
                new Case("women 50-74 (screening)", "contact.gender == 'female' and age() >= 50 and age() <= 74",
                        i -> sex[i] == 2 && ageOf(birth[i]) >= 50 && ageOf(birth[i]) <= 74),
                new Case("diabetic adults, Spanish", "age() >= 18 and inCodeSet('diabetes') and language == 'es'",
                        i -> ageOf(birth[i]) >= 18 && lang[i] == 1 && anyStarts(codes[i], "E10", "E11", "E13")),
                new Case("lapsed hypertensive, ZIP3 100-299",
                        "hasCode('I10') and hasVisit() and daysSinceVisit() > 365 and zip3 >= '100' and zip3 < '300'",
                        i -> anyStarts(codes[i], "I10") && visit[i] != Integer.MIN_VALUE && today - visit[i] > 365
                                && zip3[i] >= 100 && zip3[i] < 300));
        Map<String, List<Double>> segTimes = new LinkedHashMap<>();
        Map<String, List<Double>> plainTimes = new LinkedHashMap<>();
        for (int r = 0; r < warmup + rounds; r++) {
            for (Case c : cases) {
                Expression e = Conditions.compile(c.when());
                long s0 = System.nanoTime();
                long got = index.evaluate(e, TODAY, SegmentFacts.Outside.NONE, threads, id -> {
                });
                double segMs = (System.nanoTime() - s0) / 1e6;
                long p0 = System.nanoTime();
                long expect = plain(c.plain(), n, threads);
                double plainMs = (System.nanoTime() - p0) / 1e6;
                if (got != expect) {
                    throw new IllegalStateException(c.name() + ": segment " + got + " != plain " + expect);
                }
                if (r >= warmup) {
                    segTimes.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(segMs);
                    plainTimes.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(plainMs);
                }
                if (r == warmup) {
                    System.out.printf("  %s: %,d members%n", c.name(), got);
                }
            }
        }
        System.out.printf("%nsegment evaluation over %,d contacts, %d threads, median of %d rounds:%n", n, threads,
                rounds);
        System.out.printf("%-40s %12s %12s %8s%n", "segment", "index ms", "plain ms", "ratio");
        for (Case c : cases) {
            double s = median(segTimes.get(c.name()));
            double p = median(plainTimes.get(c.name()));
            System.out.printf("%-40s %12.0f %12.1f %8.1fx%n", c.name(), s, p, s / p);
        }
        System.out.printf("peak heap %,d MB (max %,d MB)%n", peak() >> 20, Runtime.getRuntime().maxMemory() >> 20);
    }

    static int ageOf(int birthDay) {
        LocalDate b = LocalDate.ofEpochDay(birthDay);
        int years = TODAY.getYear() - b.getYear();
        if (TODAY.getMonthValue() < b.getMonthValue() || TODAY.getMonthValue() == b.getMonthValue()
                && TODAY.getDayOfMonth() < b.getDayOfMonth()) {
            years--;
        }
        return years;
    }

    static boolean anyStarts(String[] codes, String... prefixes) {
        for (String c : codes) {
            for (String p : prefixes) {
                if (c.startsWith(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    static long plain(IntPredicate p, int n, int threads) throws InterruptedException {
        LongAdder count = new LongAdder();
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int from = (int) ((long) n * t / threads);
            int to = (int) ((long) n * (t + 1) / threads);
            ts[t] = new Thread(() -> {
                long k = 0;
                for (int i = from; i < to; i++) {
                    if (p.test(i)) {
                        k++;
                    }
                }
                count.add(k);
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        return count.sum();
    }

    static double median(List<Double> xs) {
        double[] v = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    static long used() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    static long peak() {
        long p = 0;
        for (MemoryPoolMXBean m : ManagementFactory.getMemoryPoolMXBeans()) {
            if (m.getType() == java.lang.management.MemoryType.HEAP) {
                p += m.getPeakUsage().getUsed();
            }
        }
        return p;
    }
}
