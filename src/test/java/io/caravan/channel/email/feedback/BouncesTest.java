package io.caravan.channel.email.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Delivery status notifications (RFC 3464) as receiving servers send them. */
class BouncesTest {

    static MimeMessage message(String raw) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(raw.replace("\n", "\r\n").getBytes(StandardCharsets.US_ASCII)));
    }

    static String report(String id, String action, String status, String returned) {
        return """
                From: MAILER-DAEMON@mx.example.org
                Content-Type: multipart/report; report-type=delivery-status; boundary="x"

                --x
                Content-Type: text/plain

                Sorry.
                --x
                Content-Type: message/delivery-status

                Reporting-MTA: dns; mx.example.org
                Arrival-Date: Sat, 28 Nov 2026 10:00:00 +0000

                Original-Recipient: rfc822;Someone@Example.org
                Final-Recipient: rfc822; someone@example.org
                Action: %s
                Status: %s (mailbox full)

                --x
                Content-Type: %s

                Message-ID: <%s@caravan>
                Subject: A reminder

                --x--
                """.formatted(action, status, returned, id);
    }

    @Test
    void aFailedReportNamesOurMessageTheRecipientAndAPermanentStatus() throws Exception {
        UUID id = UUID.randomUUID();
        Bounces.Report r = Bounces.parse(message(report(id.toString(), "failed", "5.2.2", "text/rfc822-headers")))
                .orElseThrow();
        assertThat(r.messageId()).isEqualTo(id);
        assertThat(r.recipients()).singleElement().satisfies(x -> {
            assertThat(x.address()).isEqualTo("someone@example.org");
            assertThat(x.action()).isEqualTo("failed");
            assertThat(x.status()).isEqualTo("5.2.2");
        });
        assertThat(Bounces.parse(message(report(id.toString(), "delayed", "4.4.1", "message/rfc822"))).orElseThrow()
                .recipients().get(0).action()).isEqualTo("delayed");
    }

    @Test
    void reportsAboutOtherMailAndOrdinaryMailAreIgnored() throws Exception {
        assertThat(Bounces.parse(message(report("not-ours", "failed", "5.1.1", "text/rfc822-headers")))).isEmpty();
        assertThat(Bounces.parse(message("From: a@b.c\nSubject: hello\n\nout of office\n"))).isEmpty();
    }
}
