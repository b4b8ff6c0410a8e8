package io.caravan.system;

import java.time.Duration;

/**
 * A named background thread of the hub with one way to stop it: the owner clears its running flag, the body returns,
 * and {@link #stop} waits for it - interrupting only after the grace period, because H2 closes its file when a thread
 * is interrupted inside it, so a writer in the middle of a commit must be left to finish. The group-commit writers and
 * the event pump run on these.
 */
public final class Worker {

    private final Thread thread;

    private Worker(Thread thread) {
        this.thread = thread;
    }

    /** Starts {@code body} on a thread named {@code name} (operators find the hub's threads by their prefix). */
    public static Worker start(String name, boolean daemon, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(daemon);
        t.start();
        return new Worker(t);
    }

    public String name() {
        return thread.getName();
    }

    /**
     * Waits up to {@code grace} for the body to return after its owner asked it to stop; a body still running then
     * (waiting for a database that went away first) is interrupted and given five more seconds. {@code interruptFirst}
     * is for bodies that only sleep between polls and hold nothing an interrupt could break.
     */
    public void stop(Duration grace, boolean interruptFirst) {
        if (interruptFirst) {
            thread.interrupt();
        }
        try {
            thread.join(grace.toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits up to {@code timeout} without interrupting: for a thread that may be inside H2 and can be abandoned. */
    public void awaitExit(Duration timeout) {
        try {
            thread.join(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAlive() {
        return thread.isAlive();
    }
}
