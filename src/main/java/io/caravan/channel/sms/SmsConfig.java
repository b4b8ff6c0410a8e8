package io.caravan.channel.sms;

import io.caravan.consent.DecisionEngine;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** SMS templates (checked against the consent policy's purposes) and the SMSC named by {@code caravan.sms.adapter}. */
@Configuration(proxyBeanMethods = false)
class SmsConfig {

    private static final Logger log = LoggerFactory.getLogger(SmsConfig.class);

    @Bean
    SmsTemplates smsTemplates(SmsProperties props, DecisionEngine engine) {
        return new SmsTemplates(props.templatesDir(), engine.policy().purposes());
    }

    @Bean
    SmscHolder smsc(SmsProperties props, MappingCatalog catalog, org.springframework.core.env.Environment env) {
        if (props.adapter() == null || props.adapter().isBlank()) {
            log.info("SMS: no SMSC adapter configured (caravan.sms.adapter); texts wait, deferred, until one is");
            return new SmscHolder(Optional.empty());
        }
        AdapterProfile a = catalog.adapters().stream().filter(x -> x.id.equals(props.adapter())).findFirst()
                .orElseThrow(() -> new IllegalStateException("caravan.sms.adapter names no adapter " + props.adapter()
                        + " in the adapters folder"));
        if (!"smpp".equals(a.kind)) {
            throw new IllegalStateException("caravan.sms.adapter: adapter " + a.id + " is not of kind smpp");
        }
        String password = null;
        if (a.smpp.passwordEnv != null) {
            // the environment variable (Spring's environment reads it; a test may set the same name as a property)
            password = env.getProperty(a.smpp.passwordEnv);
            if (password == null) {
                throw new IllegalStateException("caravan.sms.adapter: adapter " + a.id + " reads its password from "
                        + a.smpp.passwordEnv + ", which is not set");
            }
        }
        log.info("SMS goes through SMSC adapter {} ({} bind, {} msg/s, BAA {})", a.id, a.smpp.bindType,
                a.smpp.throughput, a.baa.status);
        return new SmscHolder(Optional.of(new Smsc(a, password)));
    }

    /** The configured SMSC, if any (a bean cannot be null). */
    record SmscHolder(Optional<Smsc> smsc) {
    }
}
