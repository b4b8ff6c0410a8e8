package failoverprobe;

import io.caravan.ingest.Hl7Ingest;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.CamelEvent.ExchangeSentEvent;
import org.apache.camel.spi.CamelEvent.Type;
import org.apache.camel.spring.boot.CamelContextConfiguration;
import org.apache.camel.support.EventNotifierSupport;
import org.springframework.stereotype.Component;

/**
 * For the failover test: the hub process halts - no shutdown hook, no flush, as power or the kernel would stop it -
 * right after the intake route committed a message whose control id starts with {@code HALT-}, before camel-mllp
 * writes its ACK (the ACK goes out only after the MLLP route's processor returns, TECH-NOTES). Added to the packaged
 * hub by {@code spring.main.sources} and {@code loader.path}; its package is outside io.caravan, so no test context
 * scans it.
 */
@Component
public class HaltBetweenCommitAndAck implements CamelContextConfiguration {

    @Override
    public void beforeApplicationStart(CamelContext context) {
        context.getManagementStrategy().addEventNotifier(new EventNotifierSupport() {
            @Override
            public boolean isEnabled(CamelEvent event) {
                return event.getType() == Type.ExchangeSent;
            }

            @Override
            public void notify(CamelEvent event) {
                ExchangeSentEvent sent = (ExchangeSentEvent) event;
                // the MLLP route's step into the intake route has returned: the commit is done, the ACK not written
                if (sent.getEndpoint().getEndpointUri().contains("hl7v2-intake")
                        && sent.getExchange().getIn().getBody() instanceof Hl7Ingest.Received r
                        && r.accepted() && r.controlId() != null && r.controlId().startsWith("HALT-")) {
                    Runtime.getRuntime().halt(137);
                }
            }
        });
    }

    @Override
    public void afterApplicationStart(CamelContext context) {
    }
}
