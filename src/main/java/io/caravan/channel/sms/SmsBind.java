package io.caravan.channel.sms;

import io.caravan.eventlog.KafkaRoles;
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
 * {@code message-retry} sends them - nothing lost, nothing twice (a message is taken by one node's lease). The holder
 * keeps the bind open ({@link SmscLink}) from the moment it takes the role, so receipts and MO texts arrive even before
 * it has anything to send; a node that loses the role unbinds. One node, or no SMSC: the role is always here.
 */
@Component
class SmsBind implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(SmsBind.class);
    static final String ROLE = "sms-bind";

    private final boolean smsc;
    private final ObjectProvider<KafkaRoles> roles;
    private final SmscLink link;
    private volatile KafkaRoles.Role role;
    private volatile boolean running;

    SmsBind(SmsConfig.SmscHolder smsc, ObjectProvider<KafkaRoles> roles, SmscLink link) {
        this.smsc = smsc.smsc().isPresent();
        this.roles = roles;
        this.link = link;
    }

    /** Whether this node may bind and submit now. */
    boolean held() {
        KafkaRoles.Role r = role;
        return r == null ? roles.getIfAvailable() == null || !smsc : r.held();
    }

    @Override
    public void start() {
        running = true;
        KafkaRoles kafka = roles.getIfAvailable();
        if (smsc && kafka != null) {
            role = kafka.join(ROLE, this::changed);
        } else if (smsc) {
            link.open();
        }
    }

    private void changed(boolean held) {
        if (!running) {
            return; // stopping: stop() has unbound already
        }
        if (held) {
            link.open();
        } else {
            link.close();
            log.info("SMS: the bind's role went to another node; this node unbound");
        }
    }

    @Override
    public void stop() {
        running = false;
        KafkaRoles.Role r = role;
        if (r != null) {
            // unbind before the role goes: the node that takes it binds at once, and SMSCs limit binds per system id
            // (a text this node is sending meanwhile fails fast and waits, deferred, for the next holder)
            link.close();
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
