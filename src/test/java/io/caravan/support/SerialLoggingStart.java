package io.caravan.support;

import java.util.concurrent.locks.ReentrantLock;

import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.boot.context.event.ApplicationStartingEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;

/**
 * Lets tests start several hub nodes from parallel threads of one JVM. Logback's {@code LoggerContext} is a
 * JVM-wide singleton that Spring Boot resets and reconfigures while an application prepares its environment; two
 * applications doing that at once reset each other's half-built configuration (CI saw "Unable to find Spring
 * Environment in logger context"). Holding one lock from the starting event until the context is prepared puts
 * the logging set-up of parallel starts one after the other; the slow part, the refresh, still runs in parallel.
 */
public final class SerialLoggingStart implements ApplicationListener<ApplicationEvent> {

    private static final ReentrantLock LOGGING_SET_UP = new ReentrantLock();

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof ApplicationStartingEvent) {
            LOGGING_SET_UP.lock();
        } else if (event instanceof ApplicationPreparedEvent || event instanceof ApplicationFailedEvent) {
            while (LOGGING_SET_UP.isHeldByCurrentThread()) {
                LOGGING_SET_UP.unlock();
            }
        }
    }
}
