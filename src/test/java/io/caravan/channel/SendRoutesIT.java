package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.InternetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.seda.SedaEndpoint;
import org.apache.camel.test.spring.junit5.CamelSpringBootTest;
import org.awaitility.Awaitility;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The routes that carry logic, each advised by route id: {@code send-queue} parks a message the full queue cannot
 * take (and nothing else), {@code deliver-email} defers a transient failure of the wire and bounces a permanent one.
 */
@CamelSpringBootTest
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SendRoutesIT {

    static final TestHub HUB = TestHub.named("send-routes");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.email.send-queue", () -> "1");
        r.add("caravan.email.retry.backoff", () -> "2s,2s,2s");
    }

    @Autowired
    CamelContext camel;
    @Autowired
    ProducerTemplate producer;
    @Autowired
    Messages messages;
    @Autowired
    MessageStore store;
    @Autowired
    TestRestTemplate rest;

    /** What the advised outbox step throws instead of writing the file (null: it writes it). */
    static final AtomicReference<Exception> wire = new AtomicReference<>();
    /** An exception the advised queue step throws before offering, as a bug would (null: none). */
    static final AtomicReference<RuntimeException> bug = new AtomicReference<>();

    static boolean advised;

    @BeforeEach
    void advise() throws Exception {
        if (advised) {
            return;
        }
        AdviceWith.adviceWith(camel, "deliver-email", a -> a.weaveById("email-outbox").before().process(ex -> {
            Exception e = wire.get();
            if (e != null) {
                throw e;
            }
        }));
        AdviceWith.adviceWith(camel, "send-queue", a -> a.weaveById("send-queue-offer").before().process(ex -> {
            RuntimeException e = bug.get();
            if (e != null) {
                throw e;
            }
        }));
        advised = true;
    }

    UUID plan(String mrn, String email) throws Exception {
        UUID c = HubApi.register(HUB, rest, mrn, "Quenby", "Wren", email, "");
        return messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100")), "test").id();
    }

    String status(UUID id) {
        return store.find(id).orElseThrow().status().value();
    }

    @Test
    void aFullSendQueueParksTheMessageAndABugDoesNot() throws Exception {
        UUID first = plan("SQ-1", "sq1@example.org");
        UUID second = plan("SQ-2", "sq2@example.org");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "sent".equals(status(first))
                && "sent".equals(status(second)));
        camel.getRouteController().stopRoute("send-prompt");
        try {
            UUID third = plan("SQ-3", "sq3@example.org");   // takes the queue's one place
            assertThat(camel.getEndpoint("seda:send-queue", SedaEndpoint.class).getCurrentQueueSize()).isEqualTo(1);
            Exchange full = producer.send("direct:send-queue", e -> e.setProperty(Messages.MESSAGE_ID, third));
            assertThat(full.getException()).isNull();
            assertThat(full.getProperty(Messages.PARKED, Boolean.class)).as("parked, not failed").isTrue();

            bug.set(new IllegalStateException("a bug, not a full queue"));
            Exchange broken = producer.send("direct:send-queue", e -> e.setProperty(Messages.MESSAGE_ID, third));
            assertThat(broken.getException()).as("a bug is not taken for a full queue")
                    .isInstanceOf(IllegalStateException.class);
            assertThat(broken.getProperty(Messages.PARKED)).isNull();
            bug.set(null);
            assertThat(status(third)).isEqualTo("planned");
            camel.getRouteController().startRoute("send-prompt");
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "sent".equals(status(third)));
        } finally {
            bug.set(null);
            camel.getRouteController().startRoute("send-prompt");
        }
    }

    @Test
    void aTransientFailureDefersAndAPermanentOneBounces() throws Exception {
        try {
            wire.set(new MessagingException("connection reset", new java.net.SocketException("reset")));
            UUID deferred = plan("DF-1", "df1@example.org");
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "deferred".equals(status(deferred)));
            assertThat(store.find(deferred).orElseThrow().reasons()).contains("connection");

            wire.set(new SMTPAddressFailedException(new InternetAddress("df2@example.org"), "RCPT TO", 550,
                    "550 5.1.1 mailbox unknown"));
            UUID bounced = plan("DF-2", "df2@example.org");
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "bounced".equals(status(bounced)));
            assertThat(store.find(bounced).orElseThrow().reasons()).isNotEmpty();

            wire.set(null);
            // the deferred one goes once the wire works and its wait is over; the bounced one never does
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "sent".equals(status(deferred)));
            assertThat(status(bounced)).isEqualTo("bounced");
            assertThat(List.of(status(deferred), status(bounced))).containsExactly("sent", "bounced");
        } finally {
            wire.set(null);
        }
    }
}
