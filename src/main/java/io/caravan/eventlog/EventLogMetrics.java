package io.caravan.eventlog;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.stereotype.Component;

/**
 * Each subscriber's lag and parked contacts, read from the database when asked (so every node of a cluster reports
 * the cluster's figure): the Prometheus gauges {@code caravan_event_log_lag{subscriber}} and {@code
 * caravan_event_log_parked_contacts{subscriber}}, and one read-only MBean per subscriber for Hawtio. Labels and
 * object names carry subscriber names only.
 */
@Component
class EventLogMetrics implements SmartInitializingSingleton, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(EventLogMetrics.class);

    private final ObjectProvider<EventSubscriber> subscribers;
    private final Subscriptions subscriptions;
    private final ParkedContacts parked;
    private final MeterRegistry meters;
    private final List<ObjectName> registered = new ArrayList<>();

    EventLogMetrics(ObjectProvider<EventSubscriber> subscribers, Subscriptions subscriptions, ParkedContacts parked,
            MeterRegistry meters) {
        this.subscribers = subscribers;
        this.subscriptions = subscriptions;
        this.parked = parked;
        this.meters = meters;
    }

    @Override
    public void afterSingletonsInstantiated() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (EventSubscriber s : subscribers.orderedStream().toList()) {
            String name = s.subscriberName();
            Gauge.builder("caravan.event.log.lag", name, safely(subscriptions::lag))
                    .description("Events logged that the subscriber has not read yet").tag("subscriber", name)
                    .register(meters);
            Gauge.builder("caravan.event.log.parked.contacts", name, safely(parked::count))
                    .description("Contacts whose events wait for the subscriber behind a failed one")
                    .tag("subscriber", name).register(meters);
            register(server, name);
        }
    }

    private void register(MBeanServer server, String name) {
        EventLogSubscriberMBean bean = new EventLogSubscriberMBean() {
            @Override
            public long getLag() {
                return subscriptions.lag(name);
            }

            @Override
            public long getParkedContacts() {
                return parked.count(name);
            }
        };
        try {
            String key = name.matches("[A-Za-z0-9._-]+") ? name : ObjectName.quote(name);
            ObjectName on = ObjectName.getInstance("io.caravan:type=EventLog,subscriber=" + key);
            for (int n = 2; ; n++) {
                try {
                    server.registerMBean(new StandardMBean(bean, EventLogSubscriberMBean.class), on);
                    registered.add(on);
                    return;
                } catch (InstanceAlreadyExistsException another) {
                    // a second hub in this JVM (tests start several): its own name, the first keeps the plain one
                    on = ObjectName.getInstance("io.caravan:type=EventLog,subscriber=" + key + ",hub=" + n);
                }
            }
        } catch (Exception e) {
            log.warn("Event log MBean for subscriber {} not registered ({})", name, e.getClass().getSimpleName());
        }
    }

    /** A gauge read while the database is away reports NaN rather than failing the whole scrape. */
    private static java.util.function.ToDoubleFunction<String> safely(ToLongFunction<String> f) {
        return name -> {
            try {
                return f.applyAsLong(name);
            } catch (RuntimeException e) {
                return Double.NaN;
            }
        };
    }

    @Override
    public void destroy() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName on : registered) {
            try {
                server.unregisterMBean(on);
            } catch (Exception e) {
                // already gone with the JVM's shutdown
            }
        }
        registered.clear();
    }
}
