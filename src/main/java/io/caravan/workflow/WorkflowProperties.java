package io.caravan.workflow;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** @param dir one {@code <id>.yaml} per workflow */
@ConfigurationProperties("caravan.workflow")
public record WorkflowProperties(Path dir) {
    public WorkflowProperties {
        dir = dir == null ? Path.of("config/workflows") : dir;
    }
}
