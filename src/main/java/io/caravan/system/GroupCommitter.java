package io.caravan.system;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's single-writer group commit: callers queue an item and get a future; one writer thread per queue takes
 * whatever has queued up (one item on an idle hub, up to the group size under load) and hands it to a {@link Step} as
 * one group, so one transaction (and one flush) serves every caller waiting in it. The contact store and the audit
 * trail both write this way.
 *
 * <ul>
 *   <li>A group that fails is, when the owner asks for it, tried again one item at a time, so one bad item fails only
 *       itself and not the neighbours it happened to queue with. A step that could not try the group at all (no
 *       database) throws {@link Unavailable}: every item fails at once, nothing is retried.
 *   <li>With several queues an item goes to the queue of its {@code partitionKey}, so items with the same key are
 *       applied in order by the same thread.
 *   <li>A {@code between} hook runs on the writer thread after each group and whenever the queue stays empty for the
 *       poll interval: periodic duties that must not interleave with a group (the audit trail's outbox, purge and
 *       checkpoint) go there.
 *   <li>{@link #stop}: no new items; the writer drains what is queued, runs the {@code afterDrain} hook, and completes
 *       anything that still arrives exceptionally with "hub is shutting down" - every future completes.
 * </ul>
 *
 * @param <T> what callers queue
 * @param <R> what their future completes with
 */
public final class GroupCommitter<T, R> {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

    /** What the writer does with each group it takes. */
    @FunctionalInterface
    public interface Step<T, R> {
        /**
         * Commits the group as one unit and completes each item (normally or, for an item refused on its own while its
         * neighbours commit, exceptionally). Throws when the unit failed and nothing of it is committed.
         */
        void run(List<Item<T, R>> group) throws Exception;
    }

    /** The step could not try the group at all (e.g. no connection): retrying items alone would fail the same way. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(Throwable cause) {
            super(cause == null ? null : cause.getClass().getSimpleName(), cause);
        }
    }

    /** One queued item and the future its caller waits on. */
    public static final class Item<T, R> {
        private final T value;
        private final CompletableFuture<R> done = new CompletableFuture<>();

        Item(T value) {
            this.value = value;
        }

        public T value() {
            return value;
        }

        public void complete(R result) {
            done.complete(result);
        }

        public void fail(Throwable e) {
            done.completeExceptionally(e);
        }

        public boolean isDone() {
            return done.isDone();
        }

        public CompletableFuture<R> future() {
            return done;
        }
    }

    private final String name;
    private final Step<T, R> step;
    private final IntFunction<String> threadName;
    private final int partitions;
    private final Function<T, Object> partitionKey;
    private final int capacity;
    private final int maxGroup;
    private final long pollMillis;
    private final Duration offerWait;
    private final boolean isolate;
    private final Runnable between;
    private final Runnable afterDrain;
    private final BiConsumer<T, Throwable> failedAlone;
    private final Duration stopGrace;
    private volatile List<BlockingQueue<Item<T, R>>> queues = List.of();
    private final List<Worker> workers = new ArrayList<>();
    private volatile boolean running;

    private GroupCommitter(Builder<T, R> b) {
        this.name = b.name;
        this.step = b.step;
        this.threadName = b.threadName;
        this.partitions = b.partitions;
        this.partitionKey = b.partitionKey;
        this.capacity = b.capacity;
        this.maxGroup = b.maxGroup;
        this.pollMillis = b.pollMillis;
        this.offerWait = b.offerWait;
        this.isolate = b.isolate;
        this.between = b.between;
        this.afterDrain = b.afterDrain;
        this.failedAlone = b.failedAlone;
        this.stopGrace = b.stopGrace;
    }

    /** {@code name} appears in the errors callers get ("audit trail is overloaded"); {@code step} commits a group. */
    public static <T, R> Builder<T, R> builder(String name, Step<T, R> step) {
        return new Builder<>(name, step);
    }

    /** Queues an item; the future completes when the step has committed it, or exceptionally. */
    public CompletableFuture<R> submit(T value) {
        Item<T, R> item = new Item<>(value);
        if (!running) {
            item.fail(new IllegalStateException(name + " is not running"));
            return item.future();
        }
        List<BlockingQueue<Item<T, R>>> qs = queues;
        BlockingQueue<Item<T, R>> q = qs.get(partitionOf(qs, value));
        try {
            boolean queued;
            if (offerWait == null) {
                q.put(item);
                queued = true;
            } else {
                queued = q.offer(item, offerWait.toNanos(), TimeUnit.NANOSECONDS);
            }
            if (!queued) {
                item.fail(new IllegalStateException(name + " is overloaded"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            item.fail(e);
        }
        return item.future();
    }

    /**
     * Commits {@code values} as one group on the calling thread, with the same isolation as a queued group: for work the
     * writer finds itself (the audit trail's outbox), called from a hook on the writer thread.
     */
    public List<CompletableFuture<R>> commitNow(List<T> values) throws InterruptedException {
        List<Item<T, R>> group = new ArrayList<>(values.size());
        values.forEach(v -> group.add(new Item<>(v)));
        runGroup(group);
        return group.stream().map(Item::future).toList();
    }

    private int partitionOf(List<BlockingQueue<Item<T, R>>> qs, T value) {
        if (qs.size() == 1) {
            return 0;
        }
        return Math.floorMod(Objects.hashCode(partitionKey.apply(value)), qs.size());
    }

    public synchronized void start() {
        if (running) {
            return;
        }
        List<BlockingQueue<Item<T, R>>> qs = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            qs.add(new LinkedBlockingQueue<>(capacity));
        }
        queues = List.copyOf(qs);
        running = true;
        for (int i = 0; i < partitions; i++) {
            BlockingQueue<Item<T, R>> q = queues.get(i);
            workers.add(Worker.start(threadName.apply(i), false, () -> loop(q)));
        }
    }

    /** Stops taking items, lets the writers drain their queues, and waits for them (see {@link Worker#stop}). */
    public synchronized void stop() {
        running = false;
        workers.forEach(w -> w.stop(stopGrace, false));
        workers.clear();
        // a writer that did not finish in time leaves nobody waiting
        queues.forEach(GroupCommitter::failQueued);
    }

    public boolean isRunning() {
        return running;
    }

    private void loop(BlockingQueue<Item<T, R>> queue) {
        List<Item<T, R>> group = new ArrayList<>(maxGroup);
        while (running || !queue.isEmpty()) {
            try {
                Item<T, R> first = queue.poll(pollMillis, TimeUnit.MILLISECONDS);
                if (first != null) {
                    group.add(first);
                    queue.drainTo(group, maxGroup - 1);
                    runGroup(group);
                    group.clear();
                }
                if (between != null) {
                    between.run();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                group.forEach(i -> i.fail(new IllegalStateException("hub is shutting down")));
                break;
            } catch (RuntimeException e) {
                log.error("{} writer error ({})", name, e.getClass().getSimpleName());
                group.forEach(i -> i.fail(e));
                group.clear();
            }
        }
        if (afterDrain != null) {
            try {
                afterDrain.run();
            } catch (RuntimeException e) {
                log.error("{} final duty failed ({})", name, e.getClass().getSimpleName());
            }
        }
        failQueued(queue);
    }

    private void runGroup(List<Item<T, R>> group) throws InterruptedException {
        try {
            step.run(group);
        } catch (InterruptedException e) {
            group.forEach(i -> i.fail(new IllegalStateException("hub is shutting down")));
            throw e;
        } catch (Unavailable e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            log.error("{} unavailable for {} items ({})", name, group.size(), cause.getClass().getSimpleName());
            group.forEach(i -> i.fail(cause));
            return;
        } catch (Exception e) {
            if (!isolate || group.size() == 1) {
                if (group.size() == 1 && failedAlone != null) {
                    failedAlone.accept(group.get(0).value(), e);
                } else {
                    log.error("{} failed for {} items ({})", name, group.size(), e.getClass().getSimpleName());
                }
                group.forEach(i -> i.fail(e));
                return;
            }
            // isolate the item that failed the group
            for (Item<T, R> item : group) {
                if (!item.isDone()) {
                    runGroup(new ArrayList<>(List.of(item)));
                }
            }
            return;
        }
        for (Item<T, R> item : group) {
            if (!item.isDone()) {
                item.fail(new IllegalStateException(name + " left an item without a result"));
            }
        }
    }

    private static <T, R> void failQueued(BlockingQueue<Item<T, R>> queue) {
        Item<T, R> item;
        while ((item = queue.poll()) != null) {
            item.fail(new IllegalStateException("hub is shutting down"));
        }
    }

    public static final class Builder<T, R> {
        private final String name;
        private final Step<T, R> step;
        private IntFunction<String> threadName;
        private int partitions = 1;
        private Function<T, Object> partitionKey = v -> v;
        private int capacity = 10_000;
        private int maxGroup = 256;
        private long pollMillis = 200;
        private Duration offerWait = Duration.ZERO;
        private boolean isolate;
        private Runnable between;
        private Runnable afterDrain;
        private BiConsumer<T, Throwable> failedAlone;
        private Duration stopGrace = Duration.ofSeconds(30);

        private Builder(String name, Step<T, R> step) {
            this.name = Objects.requireNonNull(name);
            this.step = Objects.requireNonNull(step);
            this.threadName = i -> "caravan-" + name.replace(' ', '-');
        }

        /** The writer threads' names, by queue number: operators and tests look for the hub's thread prefixes. */
        public Builder<T, R> threadName(IntFunction<String> threadName) {
            this.threadName = threadName;
            return this;
        }

        /** {@code n} queues, each with its own writer; an item goes to the queue its key hashes to. */
        public Builder<T, R> partitions(int n, Function<T, Object> key) {
            if (n < 1) {
                throw new IllegalArgumentException("partitions must be at least 1");
            }
            this.partitions = n;
            this.partitionKey = key;
            return this;
        }

        /** Bounded: when the writer falls behind, callers wait (or are told it is overloaded) rather than memory fill. */
        public Builder<T, R> capacity(int perQueue) {
            this.capacity = perQueue;
            return this;
        }

        public Builder<T, R> maxGroup(int maxGroup) {
            this.maxGroup = maxGroup;
            return this;
        }

        /** How long the writer waits for an item before running the {@code between} hook anyway. */
        public Builder<T, R> pollInterval(Duration poll) {
            this.pollMillis = Math.max(1, poll.toMillis());
            return this;
        }

        /** How long {@link #submit} waits for room in a full queue; {@code null}: as long as it takes. */
        public Builder<T, R> offerWait(Duration wait) {
            this.offerWait = wait;
            return this;
        }

        /** Retry a failed group one item at a time, so one bad item fails alone. */
        public Builder<T, R> isolateFailures() {
            this.isolate = true;
            return this;
        }

        public Builder<T, R> between(Runnable hook) {
            this.between = hook;
            return this;
        }

        public Builder<T, R> afterDrain(Runnable hook) {
            this.afterDrain = hook;
            return this;
        }

        /** Told about an item that failed on its own (to log it without PHI); the item's future fails anyway. */
        public Builder<T, R> onFailedAlone(BiConsumer<T, Throwable> failedAlone) {
            this.failedAlone = failedAlone;
            return this;
        }

        public Builder<T, R> stopGrace(Duration grace) {
            this.stopGrace = grace;
            return this;
        }

        public GroupCommitter<T, R> build() {
            return new GroupCommitter<>(this);
        }
    }
}
