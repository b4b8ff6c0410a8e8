package io.caravan.stream;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class StreamConfig {

    @Bean
    SafeHarbor safeHarbor(StreamProperties props) {
        return new SafeHarbor(props.deidentification().zip3List());
    }
}
