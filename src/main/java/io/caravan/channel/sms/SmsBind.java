package io.caravan.channel.sms;

import io.caravan.eventlog.KafkaRoles;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The SMPP bind on one node of the cluster at a time. SMSCs limit the binds a system id may open, and receipts and MO
 * texts arrive on whichever bind the SMSC picks: with the event log on Kafka (several nodes) the bind is the Kafka role
 * {@code sms-bind} ({@link KafkaRoles}: group membership, nothing of our own). Only its holder binds and submits; the
 * other nodes leave their texts due in the store ({@link SmsChannel#sendsHere}), and the holder's
 * {@code message-retry} sends them - nothing lost, nothing twice (a message is taken by one node's lease). A node that
 * loses the role restarts the {@code sms-submit} route, which stops camel-smpp's producer and so unbinds. One node, or
 * no SMSC: the role is always here, as before.
 */
@Component
class SmsBind implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(SmsBind.class);
    static final String ROLE = "sms-bind";

    private final boolean smsc;
    private final ObjectProvider<KafkaRoles> roles;
    /** Resolved when the role is lost: the channel (and so this) is made before Camel has its routes. */
    private final ObjectProvider<CamelContext> camel;
    private volatile KafkaRoles.Role role;
    private volatile boolean running;

    SmsBind(SmsConfig.SmscHolder smsc, ObjectProvider<KafkaRoles> roles, ObjectProvider<CamelContext> camel) {
        this.smsc = smsc.smsc().isPresent();
        this.roles = roles;
        this.camel = camel;
    }

    /** Whether this node may bind and submit now. */
    boolean held() {
        KafkaRoles.Role r = role;
        return r == null ? roles.getIfAvailable() == null || !smsc : r.held();
    }

    @Override
    public void start() {
        KafkaRoles kafka = roles.getIfAvailable();
        if (smsc && kafka != null) {
            role = kafka.join(ROLE, this::changed);
        }
        running = true;
    }

    private void changed(boolean held) {
        if (held || !running) {
            return; // the next submit binds (lazy session creation); at a stop Camel has closed the bind already
        }
        try {
            // stopping the route stops its producers: camel-smpp unbinds; started again for the keyword replies'
            // route to exist (it submits nothing here while another node holds the role)
            CamelContext c = camel.getObject();
            if (!c.isStarted()) {
                // lost while this node still starts (another node joined the role's group meanwhile): its routes
                // have sent nothing, so there is no bind to close - and restarting a route Camel is starting broke
                // the start (FailedToStartRouteException, seen in SmsBindClusterIT)
                return;
            }
            c.getRouteController().stopRoute("sms-submit", 10, TimeUnit.SECONDS);
            c.getRouteController().startRoute("sms-submit");
        } catch (Exception e) {
            log.warn("SMS: could not close this node's bind after handing the role on ({})",
                    e.getClass().getSimpleName());
        }
    }

    @Override
    public void stop() {
        running = false;
        KafkaRoles.Role r = role;
        if (r != null) {
            r.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Joins once the routes run (the default phase) and leaves first at a stop, so another node binds at once. */
    @Override
    public int getPhase() {
        return Integer.MAX_VALUE - 1000;
    }
}
