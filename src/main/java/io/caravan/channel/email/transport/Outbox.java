package io.caravan.channel.email.transport;

import io.caravan.channel.email.EmailProperties;
import io.caravan.system.HubProperties;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * The embedded default's delivery: each message, already protected exactly as it would go to a relay, becomes
 * {@code <outbox>/<message id>.eml} (owner-only). Written to a temporary file and moved into place, so a reader never
 * sees half a message, and a retry of the same message replaces it rather than adding a second.
 */
@Component("outbox")
public class Outbox {

    private final Path dir;

    public Outbox(EmailProperties props, HubProperties hub) {
        this.dir = props.outboxDir() != null ? props.outboxDir() : hub.dataDir().resolve("outbox");
    }

    public Path dir() {
        return dir;
    }

    /** The email-send route's step: the prepared message (the body) into the outbox. */
    public void deliver(org.apache.camel.Exchange ex) throws MessagingException, org.apache.camel.InvalidPayloadException {
        write(ex.getProperty(io.caravan.channel.Messages.MESSAGE_ID, UUID.class),
                ex.getMessage().getMandatoryBody(MimeMessage.class));
    }

    public Path write(UUID messageId, MimeMessage message) throws MessagingException {
        try {
            Files.createDirectories(dir);
            Path target = dir.resolve(messageId + ".eml");
            Path tmp = dir.resolve(messageId + ".eml.tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(tmp)) {
                message.writeTo(out);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to the outbox", e);
        }
    }
}
