package io.caravan.bench;

import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Sort;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.gclient.DateClientParam;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.CaravanApplication;
import io.caravan.contact.ContactWriter;
import io.caravan.ingest.fhir.FhirPoller;
import io.caravan.ingest.fhir.FhirSource;
import io.caravan.mapping.fhir.FhirMappings;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.camel.CamelContext;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Address;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.ContactPoint;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.Patient;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * FHIR intake, durable, beside HAPI alone in the same JVM and run.
 *
 * <p><b>Import</b>: NDJSON Patients (generated: official name, an MRN of a mapped system with its v2-0203 type, an
 * SSN, mobile and home phone, email, home address, birth date, gender, preferred language) imported through the
 * real path - {@code POST /api/fhir/imports {"adapter","folder"}}, taken up by the clustered FHIR tick, streamed in
 * checkpointed batches through the intake step - timed from the request until the import reads {@code completed}
 * (every resource confirmed by the store, i.e. in the hub's default durability: journal fsync'd per group) and,
 * separately, until the contacts are visible. Beside it: HAPI's parse of the same file alone, one thread streaming it
 * (as the hub reads it) and all cores over its lines. Each round imports a new file of new patients (the same shape),
 * parse rounds alternate with import rounds after a warm-up.
 *
 * <p><b>Polling catch-up</b>: {@code --changed} Patients changed on an in-process HAPI {@link RestfulServer} (the
 * plain server, on an embedded Tomcat, searchable by {@code _lastUpdated}, paged with real {@code next} links), read
 * by the hub's poller over pages of {@code --page} until it has caught up (every page committed, watermark moved),
 * beside a bare HAPI {@code IGenericClient} paging through the same search without storing anything.
 */
public final class FhirBench {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MRN_SYSTEM = "http://hospital.example.org/mrn";
    static final String USER = "bench";
    static final String PASSWORD = "bench-password-not-secret";

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--rounds", "3", "--patients", "20000", "--warmup",
                "5000", "--changed", "10000", "--page", "100", "--only", "import,poll"));
        // --caravan.* (e.g. --caravan.fhir.bulk.intake-threads=64) go to the hub as they are
        List<String> hubArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--caravan.")) {
                hubArgs.add(args[i]);
            } else if (i + 1 < args.length) {
                a.put(args[i], args[++i]);
            }
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int patients = Integer.parseInt(a.get("--patients"));
        int warmup = Integer.parseInt(a.get("--warmup"));
        int changed = Integer.parseInt(a.get("--changed"));
        int page = Integer.parseInt(a.get("--page"));
        List<String> only = List.of(a.get("--only").split(","));
        // on the disk, not /tmp (which may be tmpfs, where a flush costs nothing): the durability is the point
        Path work = Files.createDirectories(Path.of("bench/target/fhir-bench").toAbsolutePath());
        Path data = Scratch.dir(work, "data");
        Path adapters = Scratch.dir(work, "adapters");
        Path inbox = data.resolve("inbox/fhir");
        Files.createDirectories(inbox);
        Ehr ehr = new Ehr();
        Files.writeString(adapters.resolve("bench-fhir.yaml"), String.join("\n", "id: bench-fhir", "kind: fhir",
                "baa: { status: signed }", "fhir:", "  identifierSystems: { \"" + MRN_SYSTEM + "\": MERCY }",
                "  resourceTypes: [Patient]", ""));
        Files.writeString(adapters.resolve("bench-poll.yaml"), String.join("\n", "id: bench-poll", "kind: fhir",
                "baa: { status: signed }", "fhir:", "  baseUrl: " + ehr.baseUrl(),
                "  identifierSystems: { \"" + MRN_SYSTEM + "\": POLL }", "  resourceTypes: [Patient]",
                "  poll: { interval: 1h, overlap: 1m, pageSize: " + page + " }", ""));
        String hash = "{bcrypt}" + new org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder(4)
                .encode(PASSWORD);
        List<String> hub = new ArrayList<>(List.of("--caravan.data-dir=" + data, "--server.port=0",
                "--caravan.mllp.port=" + freePort(),
                "--caravan.mllp.host=127.0.0.1", "--logging.level.root=WARN", "--logging.level.io.caravan=WARN",
                "--caravan.mapping.adapters-dir=" + adapters,
                "--caravan.security.users[0].name=" + USER, "--caravan.security.users[0].roles=integration",
                "--caravan.security.users[0].password-hash=" + hash));
        hub.addAll(hubArgs);
        ConfigurableApplicationContext ctx;
        try {
            ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class, hub.toArray(String[]::new));
        } catch (RuntimeException e) {
            ehr.close(); // its Tomcat threads would keep the JVM alive
            throw e;
        }
        try {
            // the bench drives the poll itself (pollNow) so that a catch-up is timed from its first request
            ctx.getBean(CamelContext.class).getRouteController().stopRoute("fhir-poll-bench-poll");
            String base = "http://127.0.0.1:" + ctx.getEnvironment().getProperty("local.server.port");
            System.out.printf("cores %d, heap %d MiB, data %s, hub defaults but %s%n",
                    Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20,
                    data.toAbsolutePath(), hubArgs);
            if (only.contains("import")) {
                importBench(ctx, base, inbox, rounds, patients, warmup);
            }
            if (only.contains("poll")) {
                pollBench(ctx, ehr, rounds, changed, page);
            }
        } finally {
            ctx.close();
            ehr.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------- import

    static void importBench(ConfigurableApplicationContext ctx, String base, Path inbox, int rounds, int patients,
            int warmup) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Path w = write(inbox.resolve("warmup"), 0, warmup);
        parse(w, false);
        parse(w, true);
        importFolder(ctx, http, base, "warmup", warmup);
        List<Double> parse1 = new ArrayList<>();
        List<Double> parseN = new ArrayList<>();
        List<Double> imported = new ArrayList<>();
        List<Double> visible = new ArrayList<>();
        List<Double> ran = new ArrayList<>();
        List<Long> parseLatency = new ArrayList<>();
        long bytes = 0;
        for (int r = 1; r <= rounds; r++) {
            String folder = "round-" + r;
            Path f = write(inbox.resolve(folder), r, patients);
            bytes = Files.size(f);
            settle();
            Parsed p = parse(f, false);
            parse1.add(p.rate);
            parseLatency.addAll(p.nanos);
            settle();
            parseN.add(parse(f, true).rate);
            settle();
            double[] i = importFolder(ctx, http, base, folder, patients);
            imported.add(patients / i[0]);
            visible.add(patients / i[1]);
            ran.add(patients / i[2]);
        }
        double b = median(parse1);
        System.out.println();
        System.out.printf("  NDJSON import, %,d Patients a round (%,d bytes), median of %d rounds%n", patients, bytes,
                rounds);
        System.out.printf("  %-74s %10s %9s %9s %9s%n", "target", "Patients/s", "p50", "p99", "vs parse");
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   rounds: %s%n",
                "HAPI parse only, 1 thread streaming the file (baseline)", b, micros(parseLatency, 50),
                micros(parseLatency, 99), 100.0, rates(parse1));
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   rounds: %s%n",
                "HAPI parse only, " + Runtime.getRuntime().availableProcessors() + " threads over the lines in memory",
                median(parseN), "", "", 100 * median(parseN) / b, rates(parseN));
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   rounds: %s%n",
                "hub: import claimed -> intake -> journal fsync'd -> completed (hub's clock)", median(ran), "", "",
                100 * median(ran) / b, rates(ran));
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   rounds: %s%n",
                "hub: same, from POST /api/fhir/imports (incl. the wait for the tick)", median(imported), "", "",
                100 * median(imported) / b, rates(imported));
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   rounds: %s%n",
                "hub: same, until every contact is visible", median(visible), "", "", 100 * median(visible) / b,
                rates(visible));
        System.out.println();
    }

    record Parsed(double rate, List<Long> nanos) {
    }

    /** HAPI's parse of every line, nothing else: one thread reading the file, or all cores over its lines. */
    static Parsed parse(Path file, boolean parallel) throws Exception {
        if (!parallel) {
            List<Long> nanos = new ArrayList<>();
            IParser parser = FhirSource.jsonParser();
            long n = 0;
            long t0 = System.nanoTime();
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    long s = System.nanoTime();
                    IBaseResource r = parser.parseResource(line);
                    nanos.add(System.nanoTime() - s);
                    if (r != null) {
                        n++;
                    }
                }
            }
            return new Parsed(n / ((System.nanoTime() - t0) / 1e9), nanos);
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        int threads = Runtime.getRuntime().availableProcessors();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long t0 = System.nanoTime();
            List<Future<Integer>> parts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int from = t * lines.size() / threads;
                int to = (t + 1) * lines.size() / threads;
                parts.add(pool.submit(() -> {
                    IParser parser = FhirSource.jsonParser();
                    int n = 0;
                    for (String l : lines.subList(from, to)) {
                        n += parser.parseResource(l) != null ? 1 : 0;
                    }
                    return n;
                }));
            }
            long n = 0;
            for (Future<Integer> p : parts) {
                n += p.get();
            }
            return new Parsed(n / ((System.nanoTime() - t0) / 1e9), List.of());
        } finally {
            pool.shutdown();
        }
    }

    /** POSTs the import, waits for {@code completed}, then for the contacts; seconds to each. */
    static double[] importFolder(ConfigurableApplicationContext ctx, HttpClient http, String base, String folder,
            int expected) throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD)
                .getBytes(StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/fhir/imports"))
                .header("Authorization", auth).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("adapter", "bench-fhir",
                        "folder", folder)))).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IllegalStateException("import not accepted: HTTP " + r.statusCode() + " " + r.body());
        }
        String id = JSON.readTree(r.body()).path("id").asText();
        JsonNode status;
        while (true) {
            // a GET every 250 ms: at 50 ms the status requests took ~4 % of the JVM's CPU samples (JFR); the rate is
            // taken from the hub's own startedAt/finishedAt, which the polling interval does not blur
            Thread.sleep(250);
            status = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/api/fhir/imports/" + id))
                    .header("Authorization", auth).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
            String state = status.path("state").asText();
            if (!"queued".equals(state) && !"running".equals(state)) {
                break;
            }
        }
        double done = (System.nanoTime() - t0) / 1e9;
        ctx.getBean(ContactWriter.class).awaitVisible();
        double seen = (System.nanoTime() - t0) / 1e9;
        // the hub's own clock from the claim to the last commit: without the wait for the next clustered tick
        // (caravan.fhir.tick, 1 s by default), which is latency, not throughput
        double ran = Duration.between(Instant.parse(status.path("startedAt").asText()),
                Instant.parse(status.path("finishedAt").asText())).toNanos() / 1e9;
        JsonNode p = status.path("resources").path("Patient");
        long committed = p.path("committed").asLong();
        System.out.printf("    import %-8s %s: %,d read, %,d committed, %,d duplicates, %,d failed; completed after"
                        + " %.2f s (%,.0f/s), visible after %.2f s; ran %.2f s (%,.0f/s)%n", folder,
                status.path("state").asText(), p.path("read").asLong(), committed, p.path("duplicates").asLong(),
                p.path("failed").asLong(), done, expected / done, seen, ran, expected / ran);
        if (!"completed".equals(status.path("state").asText()) || committed != expected) {
            throw new IllegalStateException("the import did not commit every Patient: " + status);
        }
        return new double[] {done, seen, ran};
    }

    // ------------------------------------------------------------------------------------------------- patients

    static final String[] GIVEN_F = {"Maria", "Jennifer", "Linda", "Patricia", "Elizabeth", "Susan", "Jessica",
            "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
            "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Amy"};
    static final String[] GIVEN_M = {"James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph",
            "Thomas", "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
            "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward"};
    static final String[] FAMILY = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
            "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
            "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
            "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill"};
    static final String[] STREET = {"Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St",
            "Washington Blvd",
            "Lake Rd", "Hill St", "Park Ave", "Sunset Blvd", "Lincoln Way"};
    static final String[][] CITY = {{"Springfield", "IL", "627"}, {"Peoria", "IL", "616"}, {"Madison", "WI", "537"},
            {"Columbus", "OH", "432"}, {"Dayton", "OH", "454"}, {"Lansing", "MI", "489"}, {"Des Moines", "IA", "503"}};
    static final String[][] AREA = {{"217"}, {"309"}, {"608"}, {"614"}, {"937"}, {"517"}, {"515"}};
    static final String[] LANG = {"en", "en", "en", "en", "es", "es", "vi", "zh", "fr"};

    /** A realistic Patient: what an EHR's export holds for a registered patient. Deterministic per seed and index. */
    static Patient patient(int seed, int i, int version, Instant lastUpdated) {
        Random rnd = new Random(seed * 1_000_003L + i);
        Patient p = new Patient();
        p.setId("bench-" + seed + "-" + i);
        p.getMeta().setVersionId(String.valueOf(version)).setLastUpdated(Date.from(lastUpdated));
        String mrn = "B" + seed + String.format("%07d", i);
        p.addIdentifier().setUse(org.hl7.fhir.r4.model.Identifier.IdentifierUse.USUAL).setSystem(MRN_SYSTEM)
                .setValue(mrn).setType(new CodeableConcept().addCoding(new org.hl7.fhir.r4.model.Coding(
                        "http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")));
        p.addIdentifier().setSystem("http://hl7.org/fhir/sid/us-ssn").setValue(String.format("%03d-%02d-%04d",
                101 + rnd.nextInt(564), 1 + rnd.nextInt(99), 1 + rnd.nextInt(9_999)))
                .setType(new CodeableConcept().addCoding(
                new org.hl7.fhir.r4.model.Coding("http://terminology.hl7.org/CodeSystem/v2-0203", "SS", null)));
        boolean female = rnd.nextBoolean();
        String given = female ? GIVEN_F[rnd.nextInt(GIVEN_F.length)] : GIVEN_M[rnd.nextInt(GIVEN_M.length)];
        String family = FAMILY[rnd.nextInt(FAMILY.length)];
        p.addName().setUse(HumanName.NameUse.OFFICIAL).setFamily(family).addGiven(given)
                .addGiven(String.valueOf((char) ('A' + rnd.nextInt(26))));
        p.setGender(female ? Enumerations.AdministrativeGender.FEMALE : Enumerations.AdministrativeGender.MALE);
        LocalDate born = LocalDate.of(1935, 1, 1).plusDays(rnd.nextInt(365 * 85));
        p.setBirthDate(java.sql.Date.valueOf(born));
        int c = rnd.nextInt(CITY.length);
        String area = AREA[c][0];
        p.addTelecom().setSystem(ContactPoint.ContactPointSystem.PHONE).setUse(ContactPoint.ContactPointUse.MOBILE)
                .setValue("(" + area + ") 555-" + String.format("%04d", rnd.nextInt(10_000))).setRank(1);
        p.addTelecom().setSystem(ContactPoint.ContactPointSystem.PHONE).setUse(ContactPoint.ContactPointUse.HOME)
                .setValue("(" + area + ") 555-" + String.format("%04d", rnd.nextInt(10_000)));
        p.addTelecom().setSystem(ContactPoint.ContactPointSystem.EMAIL).setUse(ContactPoint.ContactPointUse.HOME)
                .setValue(given.toLowerCase() + "." + family.toLowerCase() + i + "@example.com");
        p.addAddress().setUse(Address.AddressUse.HOME).addLine((100 + rnd.nextInt(9000)) + " "
                + STREET[rnd.nextInt(STREET.length)]).setCity(CITY[c][0]).setState(CITY[c][1])
                .setPostalCode(CITY[c][2] + String.format("%02d", rnd.nextInt(100))).setCountry("US");
        p.addCommunication().setPreferred(true).setLanguage(new CodeableConcept().addCoding(
                new org.hl7.fhir.r4.model.Coding("urn:ietf:bcp:47", LANG[rnd.nextInt(LANG.length)], null)));
        return p;
    }

    /** {@code dir/Patient.ndjson}: {@code n} Patients of seed {@code seed}, one per line, as Bulk Data writes them. */
    static Path write(Path dir, int seed, int n) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve("Patient.ndjson");
        IParser enc = FhirSource.jsonParser();
        Instant at = Instant.parse("2026-03-01T09:00:00Z");
        try (BufferedWriter out = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
            for (int i = 0; i < n; i++) {
                out.write(enc.encodeResourceToString(patient(seed, i, 1, at.plusMillis(i))));
                out.write('\n');
            }
        }
        return f;
    }

    // --------------------------------------------------------------------------------------------------- polling

    static void pollBench(ConfigurableApplicationContext ctx, Ehr ehr, int rounds, int changed, int page)
            throws Exception {
        FhirPoller poller = ctx.getBean(FhirPoller.class);
        IGenericClient client = FhirMappings.R4.newRestfulGenericClient(ehr.baseUrl());
        Instant t = Instant.now().minus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
        List<Double> bare = new ArrayList<>();
        List<Double> hub = new ArrayList<>();
        List<Long> barePages = new ArrayList<>();
        List<Long> hubPages = new ArrayList<>();
        // round 0 is the warm-up (every Patient new, registered), the timed rounds change every one of them
        for (int r = 0; r <= rounds; r++) {
            Instant from = t;
            for (int i = 0; i < changed; i++) {
                ehr.put(patient(90, i, r + 1, t.plusMillis(i)));
            }
            Instant since = from.minusSeconds(1);
            settle();
            ehr.requests.clear();
            long t0 = System.nanoTime();
            int n = bareCatchUp(client, since, page);
            double b = (System.nanoTime() - t0) / 1e9;
            List<Long> bp = ehr.pageGaps();
            settle();
            ehr.requests.clear();
            t0 = System.nanoTime();
            int read = poller.pollNow("bench-poll");
            double h = (System.nanoTime() - t0) / 1e9;
            List<Long> hp = ehr.pageGaps();
            System.out.printf("    poll round %d: bare client %,d in %.2f s (%,.0f/s); hub %,d read in %.2f s (%,.0f/s)"
                    + ", %d requests; %d searches run by the server in all%n", r, n, b, n / b, read, h, read / h,
                    hp.size() + 1, ehr.searches.get());
            if (read != changed || n != changed) {
                throw new IllegalStateException("the catch-up did not read every changed Patient: " + read);
            }
            if (r > 0) {
                bare.add(n / b);
                hub.add(read / h);
                barePages.addAll(bp);
                hubPages.addAll(hp);
            }
            t = t.plusSeconds(600);
        }
        double b = median(bare);
        System.out.println();
        System.out.printf("  polling catch-up, %,d changed Patients over pages of %d, median of %d rounds%n", changed,
                page, rounds);
        System.out.printf("  %-74s %10s %9s %9s %9s %s%n", "target", "Patients/s", "page p50", "page p99", "vs bare",
                "  catch-up");
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   %.2f s   rounds: %s%n",
                "bare HAPI IGenericClient, every next page, nothing stored (baseline)", b, millis(barePages, 50),
                millis(barePages, 99), 100.0, changed / b, rates(bare));
        System.out.printf("  %-74s %,10.0f %9s %9s %8.0f %%   %.2f s   rounds: %s%n",
                "hub: poller -> intake -> journal fsync'd -> watermark after each page", median(hub),
                millis(hubPages, 50),
                millis(hubPages, 99), 100 * median(hub) / b, changed / median(hub), rates(hub));
        System.out.println();
    }

    static int bareCatchUp(IGenericClient client, Instant since, int page) {
        Bundle b = client.search().forResource(Patient.class).returnBundle(Bundle.class)
                .where(new DateClientParam("_lastUpdated").after().millis(Date.from(since)))
                .sort().ascending("_lastUpdated").count(page).execute();
        int n = 0;
        while (true) {
            n += b.getEntry().size();
            if (b.getLink(Bundle.LINK_NEXT) == null) {
                return n;
            }
            b = client.loadPage().next(b).execute();
        }
    }

    /** An EHR's FHIR server: HAPI's plain RestfulServer holding the current version of each Patient in memory. */
    static final class Ehr implements AutoCloseable {
        final Map<String, Patient> patients = new ConcurrentHashMap<>();
        /** When each search or page request arrived (nanoTime). */
        final List<Long> requests = new CopyOnWriteArrayList<>();
        /** Searches run (a page request must not run the search again). */
        final java.util.concurrent.atomic.AtomicInteger searches = new java.util.concurrent.atomic.AtomicInteger();
        final Tomcat tomcat = new Tomcat();
        final int port;

        Ehr() throws Exception {
            tomcat.setBaseDir(Scratch.dir("fhir-bench-ehr").toString());
            tomcat.setPort(0);
            tomcat.getConnector();
            Context c = tomcat.addContext("", null);
            RestfulServer server = new RestfulServer(FhirMappings.R4);
            server.registerProvider(new Provider());
            FifoMemoryPagingProvider paging = new FifoMemoryPagingProvider(20);
            paging.setDefaultPageSize(100);
            paging.setMaximumPageSize(1000);
            server.setPagingProvider(paging);
            Tomcat.addServlet(c, "fhir", server);
            c.addServletMappingDecoded("/fhir/*", "fhir");
            FilterDef clock = new FilterDef();
            clock.setFilterName("clock");
            clock.setFilter(new Filter() {
                @Override
                public void doFilter(ServletRequest req, ServletResponse resp, FilterChain chain)
                        throws IOException, ServletException {
                    requests.add(System.nanoTime());
                    chain.doFilter(req, resp);
                }
            });
            c.addFilterDef(clock);
            FilterMap map = new FilterMap();
            map.setFilterName("clock");
            map.addURLPatternDecoded("/fhir/*");
            c.addFilterMap(map);
            tomcat.start();
            port = tomcat.getConnector().getLocalPort();
        }

        String baseUrl() {
            return "http://127.0.0.1:" + port + "/fhir";
        }

        void put(Patient p) {
            patients.put(p.getIdElement().getIdPart(), p);
        }

        /** The time from each request to the next: one page read and (for the hub) committed. */
        List<Long> pageGaps() {
            List<Long> gaps = new ArrayList<>();
            for (int i = 1; i < requests.size(); i++) {
                gaps.add(requests.get(i) - requests.get(i - 1));
            }
            return gaps;
        }

        @Override
        public void close() throws Exception {
            tomcat.stop();
            tomcat.destroy();
        }

        /** Search by _lastUpdated, sorted by it (then id); the server pages the result. */
        public final class Provider implements IResourceProvider {
            @Override
            public Class<? extends IBaseResource> getResourceType() {
                return Patient.class;
            }

            @Search
            public List<IBaseResource> search(@OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
                    @Sort SortSpec sort, @Count Integer count) {
                searches.incrementAndGet();
                ConcurrentSkipListMap<String, Patient> sorted = new ConcurrentSkipListMap<>();
                for (Patient p : patients.values()) {
                    Date at = p.getMeta().getLastUpdated();
                    if (lastUpdated == null || matches(lastUpdated, at)) {
                        sorted.put(String.format("%020d", at.getTime()) + p.getIdElement().getIdPart(), p);
                    }
                }
                return new ArrayList<>(sorted.values());
            }

            private boolean matches(DateRangeParam range, Date at) {
                if (range.getLowerBound() != null && range.getLowerBound().getValue() != null) {
                    Date lower = range.getLowerBound().getValue();
                    boolean gt = range.getLowerBound().getPrefix() == ParamPrefixEnum.GREATERTHAN;
                    if (gt ? !at.after(lower) : at.before(lower)) {
                        return false;
                    }
                }
                return range.getUpperBound() == null || range.getUpperBound().getValue() == null
                        || !at.after(range.getUpperBound().getValue());
            }
        }
    }

    // ----------------------------------------------------------------------------------------------------- stats

    /**
     * Waits (at most a minute) until this JVM is nearly idle: after an import the hub's own readers of the events
     * (event pump, segment index, workflows) are still at work, and would otherwise be counted against the next round.
     */
    static void settle() throws InterruptedException {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        long until = System.nanoTime() + 60_000_000_000L;
        int quiet = 0;
        os.getProcessCpuLoad();
        while (quiet < 4 && System.nanoTime() < until) {
            Thread.sleep(250);
            quiet = os.getProcessCpuLoad() < 0.05 ? quiet + 1 : 0;
        }
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    static long percentile(List<Long> xs, int p) {
        List<Long> s = new ArrayList<>(xs);
        s.sort(Comparator.naturalOrder());
        return s.isEmpty() ? 0 : s.get(Math.min(s.size() - 1, (int) Math.ceil(p / 100.0 * s.size()) - 1));
    }

    static String micros(List<Long> nanos, int p) {
        return String.format("%.1f µs", percentile(nanos, p) / 1e3);
    }

    static String millis(List<Long> nanos, int p) {
        return String.format("%.1f ms", percentile(nanos, p) / 1e6);
    }

    static String rates(List<Double> xs) {
        return xs.stream().map(x -> String.format("%,.0f", x)).toList().toString();
    }
}
