package io.caravan.channel.email;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Secure email.
 *
 * @param templatesDir one folder per template: {@code template.yaml} and {@code <lang>.html.peb} / {@code .txt.peb}
 */
@Validated
@ConfigurationProperties("caravan.email")
public record EmailProperties(Path templatesDir) {

    public EmailProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/email") : templatesDir;
    }
}
