package io.caravan.mapping;

import io.caravan.contact.LinkingIdentifiers;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The store's view of identity when it works on a contact rather than a message (a split): the default rule. */
@Configuration(proxyBeanMethods = false)
class DefaultIdentity {

    @Bean
    LinkingIdentifiers linkingIdentifiers() {
        return new IdentityRule(null);
    }
}
