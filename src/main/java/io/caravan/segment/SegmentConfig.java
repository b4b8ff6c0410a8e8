package io.caravan.segment;

import io.caravan.consent.DecisionEngine;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The segment files, checked once at start-up, and the attribute index in memory. */
@Configuration(proxyBeanMethods = false)
class SegmentConfig {

    @Bean
    SegmentCatalog segmentCatalog(SegmentProperties props, DecisionEngine engine) {
        return new SegmentCatalog(props.dir(), engine.policy());
    }

    @Bean
    AttributeIndex attributeIndex() {
        return new AttributeIndex();
    }
}
