package io.caravan.channel.email;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Secure email.
 *
 * @param templatesDir  one folder per template: {@code template.yaml} and {@code <lang>.html.peb} / {@code .txt.peb}
 * @param from          the From address of every message
 * @param publicBaseUrl where recipients reach the hub (unsubscribe links); never carries PHI or contact ids
 * @param outboxDir     with no relay configured, delivered messages are written here, already protected;
 *                      default {@code <data-dir>/outbox}
 */
@Validated
@ConfigurationProperties("caravan.email")
public record EmailProperties(Path templatesDir, String from, String publicBaseUrl, Path outboxDir) {

    public EmailProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/email") : templatesDir;
        from = from == null ? "Caravan <no-reply@caravan.localhost>" : from;
        publicBaseUrl = publicBaseUrl == null ? "http://localhost:8080" : publicBaseUrl.replaceAll("/+$", "");
    }
}
