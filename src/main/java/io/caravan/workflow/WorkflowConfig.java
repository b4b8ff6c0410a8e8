package io.caravan.workflow;

import io.caravan.channel.email.EmailTemplates;
import io.caravan.consent.DecisionEngine;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The workflow files, checked against the consent policy's purposes and the email templates. */
@Configuration(proxyBeanMethods = false)
class WorkflowConfig {

    @Bean
    WorkflowCatalog workflowCatalog(WorkflowProperties props, DecisionEngine engine, EmailTemplates templates) {
        return new WorkflowCatalog(props.dir(), engine.policy().purposes(),
                name -> templates.get(name).map(EmailTemplates.Template::purpose));
    }
}
