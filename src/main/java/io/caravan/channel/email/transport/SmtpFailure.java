package io.caravan.channel.email.transport;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;

/**
 * What an SMTP refusal is about, read from the stage it answered (MAIL FROM, RCPT TO, DATA), the reply code and the
 * enhanced status code (RFC 3463). Only a refusal of the recipient's mailbox may suppress the address: a relay that
 * wants STARTTLS or AUTH, refuses to relay, or rejects the sender says nothing about the patient's address, and
 * suppressing on it would silence every patient the relay refused at once.
 *
 * @param kind     what the hub does about it
 * @param code     the reply code, 0 when there was none (the connection broke)
 * @param enhanced the enhanced status code ({@code 5.1.1}), or null
 * @param stage    {@code connect}, {@code tls}, {@code mail}, {@code rcpt}, {@code data} or {@code unknown}
 */
public record SmtpFailure(Kind kind, int code, String enhanced, String stage) {

    public enum Kind {
        /** The recipient's mailbox is refused for good (RCPT TO, 5.1.x other than the sender's 5.1.7/5.1.8). */
        RECIPIENT,
        /** This message is refused for good, for a reason that is not the address (size, content, 5.2.x...). */
        MESSAGE,
        /** The relay refuses the hub itself (TLS, AUTH, relaying, sender policy): the operator must act. */
        RELAY,
        /** 4xx or a broken connection: try again later. */
        TEMPORARY
    }

    private static final Pattern ENHANCED = Pattern.compile("^\\d{3}[ -]([245]\\.\\d{1,3}\\.\\d{1,3})\\b");
    /** Replies that name the relay's own requirements (RFC 4954 530/534/535/538, RFC 3207 530). */
    private static final java.util.Set<Integer> RELAY_CODES = java.util.Set.of(521, 530, 534, 535, 538, 556);
    /**
     * Servers that send no enhanced status code still say "relay", "authentication" or "TLS" when the refusal is
     * theirs; the text is matched, never logged or stored (it may quote the address).
     */
    private static final Pattern RELAY_TEXT = Pattern.compile("relay|authenticat|starttls|\\btls\\b|not permitted|"
            + "access denied|sender", Pattern.CASE_INSENSITIVE);

    /** Reads the failure behind an exception; Jakarta Mail's getCause() is the next exception in the chain. */
    public static SmtpFailure of(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof AuthenticationFailedException) {
                return new SmtpFailure(Kind.RELAY, 535, null, "connect");
            }
            if (c instanceof SMTPAddressFailedException a) {
                return classify(a.getReturnCode(), a.getMessage(), "rcpt");
            }
            if (c instanceof SMTPSendFailedException s) {
                // a failed RCPT is nested in the send failure: prefer the recipient's own answer
                SmtpFailure nested = nestedAddressFailure(s);
                if (nested != null) {
                    return nested;
                }
                String cmd = s.getCommand() == null ? "" : s.getCommand().toUpperCase(Locale.ROOT);
                String stage = cmd.startsWith("MAIL") ? "mail" : cmd.startsWith("RCPT") ? "rcpt"
                        : cmd.startsWith("DATA") || cmd.equals(".") || cmd.isEmpty() ? "data" : "unknown";
                return classify(s.getReturnCode(), s.getMessage(), stage);
            }
        }
        return new SmtpFailure(Kind.TEMPORARY, 0, null, "connect");
    }

    private static SmtpFailure nestedAddressFailure(MessagingException m) {
        for (Exception n = m.getNextException(); n != null;
                n = n instanceof MessagingException x ? x.getNextException() : null) {
            if (n instanceof SMTPAddressFailedException a) {
                return classify(a.getReturnCode(), a.getMessage(), "rcpt");
            }
        }
        return null;
    }

    static SmtpFailure classify(int code, String reply, String stage) {
        String enhanced = null;
        if (reply != null) {
            Matcher m = ENHANCED.matcher(reply.trim());
            if (m.find()) {
                enhanced = m.group(1);
            }
        }
        if (code < 500) {
            return new SmtpFailure(Kind.TEMPORARY, code, enhanced, stage);
        }
        boolean relay = "mail".equals(stage) || "connect".equals(stage) || RELAY_CODES.contains(code)
                || enhanced != null && (enhanced.startsWith("5.7.") || enhanced.equals("5.1.7")
                        || enhanced.equals("5.1.8"))
                || enhanced == null && reply != null && RELAY_TEXT.matcher(reply).find();
        if (relay) {
            return new SmtpFailure(Kind.RELAY, code, enhanced, stage);
        }
        if ("rcpt".equals(stage) && enhanced != null && enhanced.startsWith("5.1.")) {
            return new SmtpFailure(Kind.RECIPIENT, code, enhanced, stage);
        }
        return new SmtpFailure(Kind.MESSAGE, code, enhanced, stage);
    }

    /** The reason recorded on the message: codes only, never the server's text. */
    public String reason() {
        return code == 0 ? ("tls".equals(stage) ? "relay-tls-unverified" : "connection")
                : "smtp:" + code + (enhanced == null ? "" : ":" + enhanced);
    }
}
