package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability promise: kill -9 the hub while four senders stream ADTs; after a restart every message that was
 * ACKed AA is there exactly once, and resending everything (what a sender does for unACKed messages) creates no
 * duplicate.
 */
abstract class KillNineContract {

    static final ObjectMapper JSON = new ObjectMapper();

    abstract String jdbcUrl();

    @Test
    void everyAcknowledgedMessageSurvivesKillNineExactlyOnce(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        Files.createDirectories(data);
        Map<String, String> sent = new ConcurrentHashMap<>(); // mrn -> message
        Map<String, Boolean> acked = new ConcurrentHashMap<>();
        try (HubProcess hub = new HubProcess(data, jdbcUrl())) {
            hub.start();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch warm = new CountDownLatch(200);
            List<Thread> senders = new ArrayList<>();
            for (int s = 0; s < 4; s++) {
                Thread t = new Thread(() -> {
                    try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                        while (!stop.get()) {
                            String ctl = Hl7Messages.controlId();
                            String mrn = "K9-" + ctl;
                            String msg = Hl7Messages.a04(ctl, mrn, "Nine", "Kill", "k9@example.org");
                            sent.put(mrn, msg);
                            String ack = c.exchange(msg, 10_000);
                            if (ack == null) {
                                return; // the hub died under us
                            }
                            if ("AA".equals(MllpTestClient.msa1(ack))) {
                                acked.put(mrn, true);
                                warm.countDown();
                            }
                        }
                    } catch (Exception dead) {
                        // connection reset by the kill
                    }
                });
                t.start();
                senders.add(t);
            }
            warm.await();
            // PHI reads through the API while the hub is killed: each read answered was audited durably first
            String readMrn = acked.keySet().iterator().next();
            String readId = contactId(hub, readMrn);
            java.util.concurrent.atomic.AtomicInteger answeredReads = new java.util.concurrent.atomic.AtomicInteger();
            Thread reader = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        hub.get("/api/contacts/" + readId);
                        answeredReads.incrementAndGet();
                    } catch (Exception dead) {
                        return;
                    }
                }
            });
            reader.start();
            Thread.sleep(300);
            hub.kill9();
            stop.set(true);
            for (Thread t : senders) {
                t.join(15_000);
            }
            reader.join(15_000);
            assertThat(acked).hasSizeGreaterThanOrEqualTo(200);

            hub.start();
            assertThat(auditedReads(hub, readId)).as("PHI reads answered before kill -9 are in the audit trail")
                    .isGreaterThanOrEqualTo(answeredReads.get()).isPositive();
            assertThat(hub.get("/api/audit/verify")).as("the audit chain after kill -9").contains("\"valid\":true");
            eventsOfEach(hub, acked.keySet()).forEach((mrn, n) ->
                    assertThat(n).as("ACKed " + mrn + " after kill -9").isEqualTo(1));
            // senders resend whatever they are unsure of; nothing may be doubled
            try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                for (String msg : sent.values()) {
                    assertThat(MllpTestClient.msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
                }
            }
            eventsOfEach(hub, sent.keySet()).forEach((mrn, n) ->
                    assertThat(n).as(mrn + " after resend").isEqualTo(1));
        }
    }

    static String contactId(HubProcess hub, String mrn) throws Exception {
        return JSON.readTree(hub.get("/api/contacts?identifier="
                + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8))).get(0).get("id").asText();
    }

    /**
     * The reads of a contact's record in the trail, paging through it. Listing the trail is itself a recorded read
     * (of resource "audit"), so those are not counted and a short page ends the walk.
     */
    static int auditedReads(HubProcess hub, String contactId) throws Exception {
        int n = 0;
        long after = 0;
        while (true) {
            JsonNode page = JSON.readTree(hub.get("/api/audit?action=phi.read&limit=1000&contact=" + contactId
                    + "&after=" + after));
            for (JsonNode e : page) {
                n += "contact".equals(e.get("outcome").asText()) ? 1 : 0;
            }
            if (page.size() < 1000) {
                return n;
            }
            after = page.get(page.size() - 1).get("seq").asLong();
        }
    }

    /**
     * {@link #eventsOf} for each of these MRNs, four reads at a time: each read is audited durably, and the hub commits
     * concurrent entries together where one reader would wait for a commit per read (hundreds of MRNs a test).
     */
    static Map<String, Integer> eventsOfEach(HubProcess hub, Collection<String> mrns) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Map<String, Future<Integer>> pending = new TreeMap<>();
            for (String mrn : mrns) {
                pending.put(mrn, pool.submit(() -> eventsOf(hub, mrn)));
            }
            Map<String, Integer> out = new TreeMap<>();
            for (Map.Entry<String, Future<Integer>> e : pending.entrySet()) {
                out.put(e.getKey(), e.getValue().get(60, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static int eventsOf(HubProcess hub, String mrn) throws Exception {
        JsonNode contacts = JSON.readTree(hub.get("/api/contacts?identifier="
                + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8)));
        if (contacts.isEmpty()) {
            return 0;
        }
        assertThat(contacts).hasSize(1);
        return JSON.readTree(hub.get("/api/contacts/" + contacts.get(0).get("id").asText() + "/events")).size();
    }
}
