package failoverprobe;

import io.caravan.ingest.Hl7Ingest;
import org.apache.camel.Processor;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * For the failover test: the hub process halts - no shutdown hook, no flush, as power or the kernel would stop it -
 * right after the intake route committed a message whose control id starts with {@code HALT-<this node's MLLP port>-}
 * and built its ACK (only there: its resend to another node must be answered),
 * before camel-mllp writes the ACK (it goes out only after the route's processors return, TECH-NOTES). It wraps the
 * route's last step, {@code hl7v2Ack}. Added to the packaged hub by {@code spring.main.sources} and its class
 * path ({@code HubProcess.withClassPath}); its package is outside io.caravan, so no test context scans it.
 */
@Component
public class HaltBetweenCommitAndAck implements BeanPostProcessor, EnvironmentAware {

    private String marker;

    @Override
    public void setEnvironment(Environment environment) {
        marker = "HALT-" + environment.getProperty("caravan.mllp.port") + "-";
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String name) {
        if (!"hl7v2Ack".equals(name) || !(bean instanceof Processor ack)) {
            return bean;
        }
        return (Processor) exchange -> {
            ack.process(exchange);
            if (exchange.getIn().getBody() instanceof Hl7Ingest.Received r && r.accepted() && r.controlId() != null
                    && r.controlId().startsWith(marker)) {
                Runtime.getRuntime().halt(137);
            }
        };
    }
}
