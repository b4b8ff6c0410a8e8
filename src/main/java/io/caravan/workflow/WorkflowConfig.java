package io.caravan.workflow;

import io.caravan.channel.Channel;
import io.caravan.channel.Channels;
import io.caravan.consent.DecisionEngine;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The workflow files, checked against the consent policy's purposes, the registered channels and their templates. */
@Configuration(proxyBeanMethods = false)
class WorkflowConfig {

    @Bean
    WorkflowCatalog workflowCatalog(WorkflowProperties props, DecisionEngine engine, Channels channels) {
        return new WorkflowCatalog(props.dir(), engine.policy().purposes(), channels.names(),
                (channel, name) -> channels.find(channel).flatMap((Channel c) -> c.template(name)));
    }
}
