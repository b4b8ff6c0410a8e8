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
 * @param dkim          the DKIM signing domain (default: the From address's), selector and PKCS#8 PEM key file
 *                      (default {@code <data-dir>/keys/dkim.pem}, generated on first start with its DNS record logged)
 */
@Validated
@ConfigurationProperties("caravan.email")
public record EmailProperties(Path templatesDir, String from, String publicBaseUrl, Path outboxDir, DkimKey dkim) {

    /** The DKIM key. */
    public record DkimKey(String domain, String selector, Path keyFile) {
    }


    public EmailProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/email") : templatesDir;
        from = from == null ? "Caravan <no-reply@caravan.localhost>" : from;
        publicBaseUrl = publicBaseUrl == null ? "http://localhost:8080" : publicBaseUrl.replaceAll("/+$", "");
        if (dkim == null) {
            dkim = new DkimKey(null, null, null);
        }
        if (dkim.domain() == null || dkim.selector() == null) {
            String address = from.contains("<") ? from.substring(from.indexOf('<') + 1, from.indexOf('>')) : from;
            dkim = new DkimKey(dkim.domain() != null ? dkim.domain() : address.substring(address.indexOf('@') + 1),
                    dkim.selector() != null ? dkim.selector() : "caravan", dkim.keyFile());
        }
    }
}
