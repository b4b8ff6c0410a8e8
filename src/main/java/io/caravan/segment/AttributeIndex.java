package io.caravan.segment;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.springframework.expression.EvaluationContext;
import org.springframework.expression.Expression;
import io.caravan.workflow.Conditions;

/**
 * The attribute index in memory: one row per contact, one primitive array per attribute (a column), text values
 * replaced by small dictionary numbers. Evaluating a segment walks the rows with one reusable {@link SegmentFacts}
 * cursor: no object per contact, no decryption, no JSON. Held only in this process's heap (never written out as
 * it is); built at start from the sealed {@code segment_attribute} rows and kept current by the index subscriber.
 * Readers (evaluations) share a read lock; a change takes the write lock for the few array writes it needs.
 */
public final class AttributeIndex {

    static final int NONE = Integer.MIN_VALUE;
    static final byte SEX_NONE = 0;
    private static final List<String> SEXES = List.of("", "male", "female", "other", "unknown");

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<UUID, Integer> rowOf = new HashMap<>();
    private final List<Integer> free = new ArrayList<>();
    final Dictionary states = new Dictionary();
    final Dictionary languages = new Dictionary();
    final Dictionary codes = new Dictionary();
    private int rows;
    UUID[] ids = new UUID[1024];
    boolean[] live = new boolean[1024];
    int[] birth = new int[1024];
    byte[] sex = new byte[1024];
    short[] zip3 = new short[1024];
    short[] state = new short[1024];
    short[] language = new short[1024];
    int[][] codeIds = new int[1024][];
    int[] visit = new int[1024];
    int[] discharge = new int[1024];
    int[] appointment = new int[1024];
    /** The number of the change ({@code segment_attribute.change_seq}) each row was put from; 0 when not known. */
    long[] version = new long[1024];

    /** Text values numbered in the order first seen; number 0 is "none". */
    static final class Dictionary {
        private final Map<String, Integer> numbers = new HashMap<>();
        private final List<String> values = new ArrayList<>(List.of(""));

        synchronized int number(String value) {
            if (value == null) {
                return 0;
            }
            return numbers.computeIfAbsent(value, v -> {
                values.add(v);
                return values.size() - 1;
            });
        }

        /** The number of a value, or -1 when no row ever held it. */
        synchronized int find(String value) {
            Integer n = numbers.get(value);
            return n == null ? -1 : n;
        }

        synchronized String value(int number) {
            return values.get(number);
        }

        synchronized int size() {
            return values.size();
        }
    }

    /** Adds or replaces a contact's row. */
    public void put(UUID id, IndexedAttributes a) {
        put(id, a, 0);
    }

    /** Adds or replaces a contact's row, from the stored change numbered {@code change}. */
    public void put(UUID id, IndexedAttributes a, long change) {
        lock.writeLock().lock();
        try {
            Integer r = rowOf.get(id);
            if (r == null) {
                r = free.isEmpty() ? rows++ : free.remove(free.size() - 1);
                ensure(r + 1);
                rowOf.put(id, r);
            }
            ids[r] = id;
            live[r] = true;
            birth[r] = day(a.birthDate());
            sex[r] = (byte) Math.max(0, SEXES.indexOf(a.gender() == null ? "" : a.gender()));
            zip3[r] = a.zip3() == null ? -1 : Short.parseShort(a.zip3());
            state[r] = (short) states.number(a.state());
            language[r] = (short) languages.number(a.language());
            List<String> cs = a.codes() == null ? List.of() : a.codes();
            int[] numbers = new int[cs.size()];
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = codes.number(cs.get(i));
            }
            codeIds[r] = numbers;
            visit[r] = day(a.lastVisit());
            discharge[r] = day(a.lastDischarge());
            appointment[r] = day(a.appointment());
            version[r] = change;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Forgets a contact (merged into another). */
    public void remove(UUID id) {
        lock.writeLock().lock();
        try {
            Integer r = rowOf.remove(id);
            if (r != null) {
                live[r] = false;
                ids[r] = null;
                codeIds[r] = null;
                free.add(r);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Puts the row unless the index holds this change of it or a later one already (another node's row read while
     * this node wrote a newer one); whether it did.
     */
    public boolean putIfNewer(UUID id, IndexedAttributes a, long change) {
        lock.writeLock().lock();
        try {
            if (version(id) >= change) {
                return false;
            }
            put(id, a, change);
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Forgets the contact unless its row comes from a change later than {@code change}; whether it did. */
    public boolean removeIfNotNewer(UUID id, long change) {
        lock.writeLock().lock();
        try {
            Integer r = rowOf.get(id);
            if (r == null || version[r] > change) {
                return false;
            }
            remove(id);
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The number of the change the contact's row was put from (0 when not known), or -1 when it is not held. */
    public long version(UUID id) {
        lock.readLock().lock();
        try {
            Integer r = rowOf.get(id);
            return r == null ? -1 : version[r];
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The contact's row as attributes, or null when it is not held. What the arrays keep of each: a date as its day, a
     * gender or a ZIP3 only when it has the form the index reads (the codes, states, languages and the visit,
     * discharge and appointment days come back as they were put).
     */
    public IndexedAttributes attributes(UUID id) {
        lock.readLock().lock();
        try {
            Integer r = rowOf.get(id);
            if (r == null) {
                return null;
            }
            int[] numbers = codeIds[r];
            List<String> cs = new ArrayList<>(numbers.length);
            for (int n : numbers) {
                cs.add(codes.value(n));
            }
            return new IndexedAttributes(iso(birth[r]), sexName(sex[r]),
                    zip3[r] < 0 ? null : String.format(java.util.Locale.ROOT, "%03d", zip3[r]),
                    text(states, state[r]), text(languages, language[r]), List.copyOf(cs), iso(visit[r]),
                    iso(discharge[r]), iso(appointment[r]));
        } finally {
            lock.readLock().unlock();
        }
    }

    private static String iso(int day) {
        return day == NONE ? null : LocalDate.ofEpochDay(day).toString();
    }

    private static String text(Dictionary d, short number) {
        return number == 0 ? null : d.value(number);
    }

    public boolean contains(UUID id) {
        lock.readLock().lock();
        try {
            return rowOf.containsKey(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    public int size() {
        lock.readLock().lock();
        try {
            return rowOf.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the contact is indexed and the expression holds for it today. */
    public boolean matches(Expression e, UUID id, LocalDate today, SegmentFacts.Outside outside) {
        lock.readLock().lock();
        try {
            Integer r = rowOf.get(id);
            if (r == null) {
                return false;
            }
            SegmentFacts f = new SegmentFacts(this, today, outside);
            f.row = r;
            return test(e, Conditions.context(f));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Every indexed contact the expression holds for today, handed to {@code match} (from several threads at once
     * when {@code threads} > 1: the consumer must be thread-safe). Returns how many matched. A row whose evaluation
     * fails (a value of the wrong kind) does not match.
     */
    public long evaluate(Expression e, LocalDate today, SegmentFacts.Outside outside, int threads,
            Consumer<UUID> match) {
        lock.readLock().lock();
        try {
            int n = rows;
            int parts = Math.max(1, Math.min(threads, n / 50_000 + 1));
            if (parts == 1) {
                return range(e, today, outside, 0, n, match);
            }
            List<Thread> running = new ArrayList<>();
            long[] counts = new long[parts];
            RuntimeException[] failed = new RuntimeException[1];
            for (int p = 0; p < parts; p++) {
                int from = (int) ((long) n * p / parts);
                int to = (int) ((long) n * (p + 1) / parts);
                int slot = p;
                Thread t = new Thread(() -> {
                    try {
                        counts[slot] = range(e, today, outside, from, to, match);
                    } catch (RuntimeException ex) {
                        failed[0] = ex;
                    }
                }, "caravan-segment-eval-" + p);
                t.start();
                running.add(t);
            }
            for (Thread t : running) {
                try {
                    t.join();
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("segment evaluation interrupted");
                }
            }
            if (failed[0] != null) {
                throw failed[0];
            }
            return Arrays.stream(counts).sum();
        } finally {
            lock.readLock().unlock();
        }
    }

    private long range(Expression e, LocalDate today, SegmentFacts.Outside outside, int from, int to,
            Consumer<UUID> match) {
        SegmentFacts f = new SegmentFacts(this, today, outside);
        EvaluationContext ctx = Conditions.context(f);
        long n = 0;
        for (int r = from; r < to; r++) {
            if (!live[r]) {
                continue;
            }
            f.row = r;
            if (test(e, ctx)) {
                n++;
                match.accept(ids[r]);
            }
        }
        return n;
    }

    private static boolean test(Expression e, EvaluationContext ctx) {
        try {
            return Conditions.test(e, ctx);
        } catch (IllegalArgumentException ex) {
            return false;
        }
    }

    private void ensure(int n) {
        if (n <= ids.length) {
            return;
        }
        int cap = Math.max(n, ids.length * 2);
        ids = Arrays.copyOf(ids, cap);
        live = Arrays.copyOf(live, cap);
        birth = Arrays.copyOf(birth, cap);
        sex = Arrays.copyOf(sex, cap);
        zip3 = Arrays.copyOf(zip3, cap);
        state = Arrays.copyOf(state, cap);
        language = Arrays.copyOf(language, cap);
        codeIds = Arrays.copyOf(codeIds, cap);
        visit = Arrays.copyOf(visit, cap);
        discharge = Arrays.copyOf(discharge, cap);
        appointment = Arrays.copyOf(appointment, cap);
        version = Arrays.copyOf(version, cap);
    }

    static String sexName(byte s) {
        return s == SEX_NONE ? null : SEXES.get(s);
    }

    private static int day(String iso) {
        if (iso == null || iso.length() < 10) {
            return NONE;
        }
        try {
            return (int) LocalDate.parse(iso.substring(0, 10)).toEpochDay();
        } catch (java.time.format.DateTimeParseException e) {
            return NONE;
        }
    }
}
