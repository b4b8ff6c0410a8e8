package io.caravan.channel.email;

import io.caravan.consent.DecisionEngine;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Email templates, loaded and validated once at start-up against the consent policy's purposes. */
@Configuration(proxyBeanMethods = false)
class EmailConfig {

    @Bean
    EmailTemplates emailTemplates(EmailProperties props, DecisionEngine engine) {
        return new EmailTemplates(props.templatesDir(), engine.policy().purposes());
    }
}
