package io.caravan.channel.email.transport;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.SendFailedException;
import jakarta.mail.internet.InternetAddress;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.junit.jupiter.api.Test;

/** Which SMTP refusals are about the recipient's mailbox, as Angus Mail reports them. */
class SmtpFailureTest {

    static SmtpFailure rcpt(String reply) throws Exception {
        SMTPAddressFailedException a = new SMTPAddressFailedException(new InternetAddress("pat@example.org"),
                "RCPT TO:<pat@example.org>", Integer.parseInt(reply.substring(0, 3)), reply);
        // as Angus throws it: the refused address nested in the send failure
        return SmtpFailure.of(new SendFailedException("Invalid Addresses", a));
    }

    static SmtpFailure at(String command, String reply) {
        return SmtpFailure.of(new SMTPSendFailedException(command, Integer.parseInt(reply.substring(0, 3)), reply,
                null, null, null, null));
    }

    @Test
    void onlyAMailboxRefusalAtRcptToIsAboutTheRecipient() throws Exception {
        assertThat(rcpt("550 5.1.1 <pat@example.org>: Recipient address rejected: User unknown").kind())
                .isEqualTo(SmtpFailure.Kind.RECIPIENT);
        assertThat(rcpt("553 5.1.3 bad address syntax").kind()).isEqualTo(SmtpFailure.Kind.RECIPIENT);
        assertThat(rcpt("550 5.1.1 no such user").reason()).isEqualTo("smtp:550:5.1.1");

        assertThat(rcpt("554 5.7.1 <pat@example.org>: Relay access denied").kind()).isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(rcpt("550 relaying denied").kind()).as("no enhanced code, the text says whose refusal it is")
                .isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(rcpt("530 5.7.0 Authentication required").kind()).isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(rcpt("550 5.1.8 sender domain does not exist").kind()).as("5.1.8 is the sender's")
                .isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(at("MAIL FROM:<bounces@caravan.localhost>", "550 5.1.0 sender rejected").kind())
                .isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(at("MAIL FROM:<bounces@caravan.localhost>", "530 5.7.0 Must issue a STARTTLS command first")
                .kind()).isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(SmtpFailure.of(new AuthenticationFailedException("535 5.7.8 bad credentials")).kind())
                .isEqualTo(SmtpFailure.Kind.RELAY);
        assertThat(new SmtpFailure(SmtpFailure.Kind.RELAY, 0, null, "tls").reason())
                .as("a relay with credentials whose TLS did not verify").isEqualTo("relay-tls-unverified");

        assertThat(rcpt("552 5.2.2 mailbox full").kind()).as("refused for now or for this message, not the address")
                .isEqualTo(SmtpFailure.Kind.MESSAGE);
        assertThat(at(".", "554 5.6.0 message content rejected").kind()).isEqualTo(SmtpFailure.Kind.MESSAGE);
        assertThat(at(".", "550 5.1.1 user unknown").kind()).as("after DATA: not the RCPT TO answer")
                .isEqualTo(SmtpFailure.Kind.MESSAGE);
        assertThat(rcpt("450 4.2.0 mailbox busy").kind()).isEqualTo(SmtpFailure.Kind.TEMPORARY);
        assertThat(SmtpFailure.of(new jakarta.mail.MessagingException("connection reset")).kind())
                .isEqualTo(SmtpFailure.Kind.TEMPORARY);
    }
}
