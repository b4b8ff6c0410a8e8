package io.caravan.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.KafkaBrokerProcess;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import io.caravan.support.RelayAdapters;
import jakarta.mail.internet.MimeMessage;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue 17's failure test, on this one machine: the private PostgreSQL, a Kafka broker process (KRaft, replication
 * factor 1) and three hub processes of the {@code cluster} profile with the event log on Kafka, each as small as a
 * node of several on two cores ({@code -Xmx256m -XX:ActiveProcessorCount=1}). HL7 registrations come in over all three
 * from senders that behave as feeds behind a load balancer: a message without an ACK is sent again, to the next node.
 * Each registration starts a journey that sends at once and again after a wait (a step that falls due), and a campaign
 * is started mid-load; the mail goes to an SMTP server in this JVM. Mid-load the node leading the Kafka relay is killed
 * with SIGKILL, a second node halts between an intake commit and its ACK, the broker is restarted and then PostgreSQL.
 * Then what a user would check: every ACKed message stored once (the halted one too, after its resend), each
 * registration's journey started once, every journey message and campaign message received once, no log line naming
 * a patient, and the singletons (the relay, the Quartz triggers) carried on by the survivors.
 */
class ClusterFailoverIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String JOURNEY_SUBJECT = "A reminder from your care team";
    static final String CAMPAIGN_SUBJECT = "How was your stay?";
    /** What a node logs when Kafka's group membership gives it the relay's one partition, or takes it back. */
    static final String RELAY_TAKEN = "Event log relay: 1 partitions taken, 1 held";
    static final String RELAY_HELD = "Event log relay: ";
    static final int SENDERS = 6;

    // under target/, not a JUnit temp dir: the nodes' and the broker's logs stay for whoever reads a failure
    final Path tmp = Path.of("target", "failover-it", UUID.randomUUID().toString()).toAbsolutePath();

    /** Control id -> the MLLP ACK codes received for it (AA once; a resend of a committed message answers AA too). */
    final Map<String, List<String>> acks = new ConcurrentHashMap<>();
    /** Control id -> the e-mail address of the patient it registers. */
    final Map<String, String> emails = new ConcurrentHashMap<>();
    final AtomicInteger acked = new AtomicInteger();
    final AtomicInteger resent = new AtomicInteger();
    /** Outcomes other than AA, for whoever reads a failure: no ACK in time or a cut connection, AE, refused. */
    final AtomicInteger noAck = new AtomicInteger();
    final AtomicInteger ae = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();
    volatile String lastAe;
    final AtomicBoolean loadOn = new AtomicBoolean(true);
    final List<String> senderFailures = new CopyOnWriteArrayList<>();

    @Test
    void nodesBrokerAndDatabaseFailMidLoadAndNothingAckedIsLostOrDoneTwice() throws Exception {
        Assumptions.assumeTrue(System.getenv("CARAVAN_TEST_PG_URL") == null
                || System.getenv("CARAVAN_TEST_PG_URL").isBlank(), "restarts the private PostgreSQL cluster");
        String url = PostgresSupport.newDatabase();
        Files.createDirectories(tmp);
        // GreenMail's handler thread throws when a killed node drops its connection mid-message; Awaitility would
        // rethrow that in the test thread, so every await in this class leaves other threads' exceptions alone
        GreenMail smtp = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        ExecutorService pool = Executors.newCachedThreadPool();
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start(tmp.resolve("kafka"))) {
            Path workflows = Files.createDirectories(tmp.resolve("workflows"));
            // a send at once, then one that falls due a few seconds later: a due step for the dead nodes to leave
            Files.writeString(workflows.resolve("welcome.yaml"), """
                    id: welcome
                    purpose: treatment
                    trigger: { event: patient.registered }
                    steps:
                      - id: first
                        send: { template: appointment-reminder-notice, data: { clinicPhone: "'+1 217 555 0100'" } }
                      - { id: pause, wait: { for: 4s } }
                      - id: second
                        send: { template: appointment-reminder-notice, data: { clinicPhone: "'+1 217 555 0100'" } }
                    """);
            // one relay; each node names itself in EHLO, so the SMTP server's Received header says which node sent
            // each copy of a message
            for (String n : List.of("a", "b", "c")) {
                RelayAdapters.smtp(tmp.resolve("adapters-" + n), "mail", smtp.getSmtp().getPort(), "heloName: node-" + n);
            }
            Path probe = Files.createDirectories(tmp.resolve("probe/failoverprobe"));
            Files.copy(Path.of("target/test-classes/failoverprobe/HaltBetweenCommitAndAck.class"),
                    probe.resolve("HaltBetweenCommitAndAck.class"), StandardCopyOption.REPLACE_EXISTING);

            String masterKey = "failover-master-key-" + UUID.randomUUID();
            List<HubProcess> nodes = new ArrayList<>();
            for (String n : List.of("a", "b", "c")) {
                Path data = HubProcess.nodeDirs(tmp, masterKey, n).get(0);
                nodes.add(new HubProcess(data, url, "--spring.profiles.include=cluster",
                        "--caravan.event-log.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                        "--caravan.workflow.dir=" + workflows,
                        "--caravan.mapping.adapters-dir=" + tmp.resolve("adapters-" + n),
                        "--caravan.email.relay=mail", "--caravan.campaigns.poll-interval=200ms",
                        "--spring.main.sources=failoverprobe.HaltBetweenCommitAndAck")
                        .withClassPath(tmp.resolve("probe"))
                        .withJvmOptions("-Xmx256m", "-XX:ActiveProcessorCount=1"));
            }
            try {
                // the first alone (it migrates the database), then the other two together
                nodes.get(0).start();
                Future<?> b = pool.submit(() -> start(nodes.get(1)));
                Future<?> c = pool.submit(() -> start(nodes.get(2)));
                b.get();
                c.get();
                run(nodes, broker, smtp, url, pool);
            } catch (Throwable failed) {
                // what each live node was doing when the test gave up on it, beside its log
                for (HubProcess n : nodes) {
                    if (n.isAlive()) {
                        new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                                String.valueOf(n.pid()), "Thread.print").redirectErrorStream(true)
                                .redirectOutput(n.log().resolveSibling(n.log().getFileName() + ".threads").toFile())
                                .start().waitFor();
                    }
                }
                throw failed;
            } finally {
                for (HubProcess n : nodes) {
                    n.close();
                }
            }
        } finally {
            pool.shutdownNow();
            smtp.stop();
        }
    }

    private void run(List<HubProcess> nodes, KafkaBrokerProcess broker, GreenMail smtp, String url,
            ExecutorService pool) throws Exception {
        Map<HubProcess, String> instance = new HashMap<>();
        Map<HubProcess, String> helo = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            instance.put(nodes.get(i), JSON.readTree(nodes.get(i).get("/api/cluster")).get("node").asText());
            helo.put(nodes.get(i), "node-" + "abc".charAt(i));
        }
        // the relay runs on one node: the one to kill
        // (it moves as the others join the relay's group: wait until one holds it for a while)
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(60)).during(Duration.ofSeconds(3))
                .until(() -> leaders(nodes).size() == 1);
        HubProcess leader = leaders(nodes).get(0);
        List<HubProcess> others = new ArrayList<>(nodes);
        others.remove(leader);
        HubProcess halted = others.get(0);
        HubProcess survivor = others.get(1);
        // on the node that will start the campaign (the others find it in the database when the campaign runs there)
        assertThat(survivor.post("/api/segments", """
                {"id": "everyone", "purpose": "operations", "when": "true"}""").statusCode()).isEqualTo(201);

        List<Future<?>> senders = new ArrayList<>();
        for (int s = 0; s < SENDERS; s++) {
            int id = s;
            senders.add(pool.submit(() -> send(nodes, id)));
        }
        awaitAcked(40);
        Map<HubProcess, Long> leaderLinesAtKill = new HashMap<>();
        for (HubProcess n : nodes) {
            leaderLinesAtKill.put(n, leaderLines(n));
        }
        leader.kill9();
        // a message on the wire at a node's death goes again from a survivor (its record never committed): the one
        // repeat of delivery that SMTP cannot avoid, with the same Message-ID, so a mail client shows it once
        Map<String, java.time.Instant> diedAt = new HashMap<>();
        diedAt.put(helo.get(leader), java.time.Instant.now());

        awaitAcked(80);
        // a marked message on the node with the probe: committed, then the JVM halts before the ACK leaves
        String haltId = "HALT-" + halted.mllpPort + "-" + UUID.randomUUID().toString().substring(0, 8);
        String haltEmail = "fohalt@example.org";
        String haltMessage = Hl7Messages.a04(haltId, "FOMRNHALT", "Failover", "Fay", haltEmail);
        emails.put(haltId, haltEmail);
        try (MllpTestClient c = new MllpTestClient(halted.mllpPort)) {
            assertThat(c.exchange(haltMessage, 30_000)).as("no ACK from the halted node").isNull();
        }
        assertThat(halted.awaitExit(Duration.ofSeconds(30))).as("the node halted").isEqualTo(137);
        diedAt.put(helo.get(halted), java.time.Instant.now());
        // the sender gets no ACK and sends again, to another node: the dedupe key finds what the halted node committed
        try (MllpTestClient c = new MllpTestClient(survivor.mllpPort)) {
            String ack = c.exchange(haltMessage, 60_000);
            assertThat(ack).as("the resend's ACK").isNotNull();
            acks.computeIfAbsent(haltId, k -> new CopyOnWriteArrayList<>()).add(MllpTestClient.msa1(ack));
        }
        System.out.println(java.time.Instant.now() + " failover: halted message resent and ACKed");
        // the killed node comes back while the load goes on
        Future<?> leaderBack = pool.submit(() -> start(leader));

        awaitAcked(120);
        broker.restart();

        awaitAcked(acked.get() + 20);
        HttpResponse<String> campaign = survivor.post("/api/campaigns", """
                {"segment": "everyone", "channel": "email", "template": "discharge-survey",
                 "data": {"surveyLink": "https://survey.example.org/s"}, "rate": 40}""");
        assertThat(campaign.statusCode()).as(campaign.body()).isEqualTo(202);
        String campaignId = JSON.readTree(campaign.body()).get("id").asText();

        awaitAcked(acked.get() + 40);
        assertThat(PostgresSupport.restartPrivateCluster()).isTrue();
        int atRestart = acked.get();
        awaitAcked(atRestart + 60);
        loadOn.set(false);
        for (Future<?> s : senders) {
            s.get();
        }
        leaderBack.get();
        assertThat(senderFailures).as("senders that gave up").isEmpty();

        // every ACKed message stored exactly once, the halted one included
        Map<String, Long> stored = storedByControlId(url);
        assertThat(acks.keySet()).contains(haltId);
        for (Map.Entry<String, List<String>> a : acks.entrySet()) {
            assertThat(a.getValue()).as("ACKs for %s", a.getKey()).isNotEmpty().allMatch("AA"::equals);
            assertThat(stored.get(a.getKey())).as("inbound rows for %s", a.getKey()).isEqualTo(1L);
        }
        assertThat(stored.keySet()).as("nothing stored that was not sent").isEqualTo(acks.keySet());
        int registrations = acks.size();
        assertThat(PostgresSupport.count(url, "SELECT COUNT(*) FROM contact")).as("one contact per registration")
                .isEqualTo(registrations);

        // every registration acted on once: one journey each, and each completes on the nodes left
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThat(PostgresSupport.count(url, "SELECT COUNT(*) FROM journey WHERE status = 'completed'"))
                        .isEqualTo(registrations));
        assertThat(PostgresSupport.count(url, "SELECT COUNT(*) FROM journey")).isEqualTo(registrations);
        assertThat(PostgresSupport.count(url, "SELECT COUNT(DISTINCT contact_id) FROM journey"))
                .isEqualTo(registrations);

        // the campaign completes, and each of its messages arrives once
        try {
            Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).until(() -> {
                JsonNode rep = JSON.readTree(survivor.get("/api/campaigns/" + campaignId));
                // a message past the wire when PostgreSQL went waits on its node for its record, and is sent
                JsonNode v = rep.get("variants").get(0);
                return "completed".equals(rep.get("status").asText())
                        && v.get("sent").asInt() == rep.get("targeted").asInt();
            });
        } finally {
            // counts and statuses only, for whoever reads a failure
            System.out.println("failover: campaign " + survivor.get("/api/campaigns/" + campaignId));
            System.out.println("failover: outbound by status and reasons " + rows(url, "SELECT status, reasons,"
                    + " attempts, COUNT(*) FROM outbound_message GROUP BY status, reasons, attempts"));
        }
        int targeted = JSON.readTree(survivor.get("/api/campaigns/" + campaignId)).get("targeted").asInt();
        assertThat(rows(url, "SELECT id, reasons FROM outbound_message WHERE status = 'failed'"))
                .as("messages failed").isEmpty();
        assertThat(targeted).as("campaign recipients").isPositive();

        // at the SMTP server: two journey messages per patient and at most one campaign message, nothing more
        // what a killed node had claimed at its gate goes from a survivor once Quartz recovered the node (about
        // 30 s), what it held in its queue once the stranded sweep finds it (1 min)
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
            assertThat(received(smtp, JOURNEY_SUBJECT).values().stream().mapToLong(Long::longValue).sum())
                    .isGreaterThanOrEqualTo(2L * registrations);
            assertThat(received(smtp, CAMPAIGN_SUBJECT).values().stream().mapToLong(Long::longValue).sum())
                    .isGreaterThanOrEqualTo(targeted);
        });
        Thread.sleep(3_000); // anything doubled would arrive now
        // a Message-ID that arrived twice: its first copy left a node that died right after, before the kill
        Map<String, List<String[]>> copies = new HashMap<>();
        for (MimeMessage m : smtp.getReceivedMessages()) {
            String[] received = m.getHeader("Received")[0].split(";", 2);
            copies.computeIfAbsent(m.getMessageID(), k -> new ArrayList<>()).add(new String[] {
                    received[0].replaceAll(".*\\(HELO ([^)]*)\\).*", "$1").trim(), received[1].trim()});
        }
        int resentAfterDeath = 0;
        for (Map.Entry<String, List<String[]>> c : copies.entrySet()) {
            if (c.getValue().size() == 1) {
                continue;
            }
            System.out.println("failover: one message received from " + c.getValue().stream()
                    .map(x -> x[0] + " at " + x[1]).toList());
            assertThat(c.getValue()).as("copies of one message").hasSize(2);
            String[] first = c.getValue().stream().min(java.util.Comparator.comparing(x -> receivedAt(x[1])))
                    .orElseThrow();
            assertThat(diedAt).as("the node the first copy came from died").containsKey(first[0]);
            assertThat(receivedAt(first[1])).as("the first copy arrived before its node died")
                    .isBeforeOrEqualTo(diedAt.get(first[0]));
            resentAfterDeath++;
        }
        System.out.println("failover: messages on the wire at a node's death, sent again: " + resentAfterDeath);
        Map<String, Long> journeyMail = received(smtp, JOURNEY_SUBJECT);
        // for whoever reads a failure: what the store says of the messages of a patient mailed other than twice
        emails.forEach((controlId, email) -> {
            if (journeyMail.getOrDefault(email, 0L) != 2L) {
                System.out.println("failover: " + journeyMail.get(email) + " journey messages for " + controlId + ": "
                        + rows(url, "SELECT m.id, m.status, m.attempts, m.reasons, m.updated_at FROM outbound_message m"
                        + " JOIN inbound_message i ON i.contact_id = m.contact_id WHERE i.control_id = '" + controlId
                        + "'"));
            }
        });
        for (String email : emails.values()) {
            assertThat(journeyMail.get(email)).as("journey messages to %s", email).isEqualTo(2L);
        }
        assertThat(journeyMail.keySet()).isEqualTo(Set.copyOf(emails.values()));
        received(smtp, CAMPAIGN_SUBJECT).forEach((email, n) ->
                assertThat(n).as("campaign messages to %s", email).isEqualTo(1L));
        assertThat(received(smtp, CAMPAIGN_SUBJECT).size()).as("campaign recipients mailed").isEqualTo(targeted);

        // the singletons moved: the relay leads on a survivor, the dead instances are gone from the cluster
        List<String> killed = List.of(instance.get(leader), instance.get(halted));
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            JsonNode now = JSON.readTree(survivor.get("/api/cluster"));
            assertThat(now.get("nodes").findValuesAsText("id")).doesNotContainAnyElementsOf(killed);
            now.get("nodes").forEach(n -> assertThat(n.get("alive").asBoolean()).as(n.toString()).isTrue());
        });
        long taken = 0;
        for (HubProcess n : nodes) {
            taken += leaderLines(n) - leaderLinesAtKill.get(n);
        }
        assertThat(taken).as("the relay taken over after the kill").isPositive();
        // and every subscriber's backlog drained by the nodes left
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                JSON.readTree(survivor.get("/api/cluster")).get("subscribers").forEach(sub ->
                        assertThat(sub.get("lag").asLong()).as(sub.toString()).isZero()));

        // no log line names a patient
        for (HubProcess n : nodes) {
            assertThat(Files.readAllLines(n.log()).stream()
                    .filter(l -> l.contains("FOMRN") || l.contains("Failover") || l.contains("@example.org"))
                    .toList()).as("PHI in %s", n.log()).isEmpty();
        }
        assertThat(resent.get()).as("messages sent again after a failure").isPositive();
    }

    private static long leaderLines(HubProcess n) throws Exception {
        return Files.readAllLines(n.log()).stream().filter(l -> l.contains(RELAY_TAKEN)).count();
    }

    private static List<HubProcess> leaders(List<HubProcess> nodes) throws Exception {
        List<HubProcess> out = new ArrayList<>();
        for (HubProcess n : nodes) {
            List<String> relay = Files.readAllLines(n.log()).stream().filter(l -> l.contains(RELAY_HELD)
                    && l.contains(" held")).toList();
            if (!relay.isEmpty() && relay.get(relay.size() - 1).endsWith(" 1 held")) {
                out.add(n);
            }
        }
        return out;
    }

    private static void start(HubProcess n) {
        try {
            n.start();
        } catch (Exception first) {
            // a node started while PostgreSQL restarts exits at its migration check (connection terminated), as
            // it would under systemd's Restart=on-failure: it is started again once
            try {
                n.start();
            } catch (Exception e) {
                e.addSuppressed(first);
                throw new IllegalStateException(e);
            }
        }
    }

    private void awaitAcked(int n) {
        System.out.println(java.time.Instant.now() + " failover: " + acked.get() + " ACKed, waiting for " + n
                + " (so far no ACK " + noAck.get() + ", AE " + ae.get() + ", refused " + refused.get() + ", last AE ERR-3 " + lastAe + ")");
        IntSupplier now = acked::get;
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> now.getAsInt() >= n || !senderFailures.isEmpty());
        assertThat(senderFailures).isEmpty();
    }

    /**
     * One feed behind a load balancer: registrations one at a time, each new; no ACK (a dead node, a cut connection)
     * means the message goes again, unchanged, to the next node; AE (the store unreachable) means again after a pause.
     */
    private void send(List<HubProcess> nodes, int sender) {
        int node = sender % nodes.size();
        MllpTestClient client = null;
        try {
            for (int i = 0; loadOn.get(); i++) {
                String controlId = "FO-" + sender + "-" + i;
                String email = "fo" + sender + "x" + i + "@example.org";
                emails.put(controlId, email);
                String message = Hl7Messages.a04(controlId, "FOMRN" + sender + "X" + i, "Failover", "Fay", email);
                long deadline = System.currentTimeMillis() + 120_000;
                for (int attempt = 0; ; attempt++) {
                    if (System.currentTimeMillis() > deadline) {
                        senderFailures.add(controlId + ": no AA within 120 s");
                        return;
                    }
                    if (attempt > 0) {
                        resent.incrementAndGet();
                    }
                    String ack = null;
                    try {
                        if (client == null) {
                            client = new MllpTestClient(nodes.get(node).mllpPort);
                        }
                        ack = client.exchange(message, 20_000);
                    } catch (java.io.IOException down) {
                        // the node is down: the next one
                        refused.incrementAndGet();
                    }
                    if (ack == null) {
                        noAck.incrementAndGet();
                        client = close(client);
                        node = (node + 1) % nodes.size();
                        continue;
                    }
                    String code = MllpTestClient.msa1(ack);
                    if ("AE".equals(code)) {
                        ae.incrementAndGet();
                        lastAe = MllpTestClient.field(ack, "ERR", 3);
                        // not stored ("hub is shutting down", the store unreachable): the same message again
                        Thread.sleep(500);
                        continue;
                    }
                    acks.computeIfAbsent(controlId, k -> new CopyOnWriteArrayList<>()).add(code);
                    if (!"AA".equals(code)) {
                        senderFailures.add(controlId + ": " + code);
                        return;
                    }
                    acked.incrementAndGet();
                    break;
                }
                Thread.sleep(500); // a feed's pace, so that the failures land mid-load
            }
        } catch (Exception e) {
            senderFailures.add("sender " + sender + ": " + e);
        } finally {
            close(client);
        }
    }

    private static MllpTestClient close(MllpTestClient c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // gone already
            }
        }
        return null;
    }

    /** Messages (distinct Message-IDs) received per recipient address with this subject. */
    private static Map<String, Long> received(GreenMail smtp, String subject) throws Exception {
        Map<String, Set<String>> ids = new HashMap<>();
        for (MimeMessage m : smtp.getReceivedMessages()) {
            if (subject.equals(m.getSubject())) {
                ids.computeIfAbsent(m.getAllRecipients()[0].toString(), k -> new java.util.HashSet<>())
                        .add(m.getMessageID());
            }
        }
        Map<String, Long> out = new HashMap<>();
        ids.forEach((to, messages) -> out.put(to, (long) messages.size()));
        return out;
    }

    /** The date of GreenMail's Received header: {@code java.util.Date#toString}, whole seconds. */
    private static java.time.Instant receivedAt(String date) {
        return java.time.ZonedDateTime.parse(date, java.time.format.DateTimeFormatter
                .ofPattern("EEE MMM dd HH:mm:ss zzz yyyy", java.util.Locale.US)).toInstant();
    }

    private static Map<String, Long> storedByControlId(String url) throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT control_id, COUNT(*) FROM inbound_message GROUP BY control_id")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    private static String rows(String url, String sql) {
        StringBuilder out = new StringBuilder();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.append('[');
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    out.append(i > 1 ? ", " : "").append(rs.getString(i));
                }
                out.append(']');
            }
        } catch (Exception e) {
            out.append(e);
        }
        return out.toString();
    }


}
