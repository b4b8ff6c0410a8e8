package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The shared group-commit writer on real threads: what the contact store and the audit trail rely on. */
class GroupCommitterTest {

    private GroupCommitter<String, String> committer;

    @AfterEach
    void stop() {
        if (committer != null) {
            committer.stop();
        }
    }

    @Test
    void callersThatArriveTogetherShareOneGroup() throws Exception {
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            sizes.add(group.size());
            Thread.sleep(20); // a commit's flush: callers queue up behind it
            group.forEach(i -> i.complete("ok:" + i.value()));
        }).build();
        committer.start();

        ExecutorService pool = Executors.newFixedThreadPool(32);
        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            String v = "m" + i;
            all.add(CompletableFuture.supplyAsync(() -> committer.submit(v).join(), pool));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        pool.shutdown();

        for (int i = 0; i < 400; i++) {
            assertThat(all.get(i).get()).isEqualTo("ok:m" + i);
        }
        assertThat(sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(400);
        assertThat(Collections.max(sizes)).as("groups under load").isGreaterThan(1);
        assertThat(sizes.size()).as("fewer commits than callers").isLessThan(400);
    }

    @Test
    void aPoisonedItemFailsAloneAndItsNeighboursCommit() throws Exception {
        CountDownLatch firstTaken = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<List<String>> tried = new CopyOnWriteArrayList<>();
        List<String> failedAlone = new CopyOnWriteArrayList<>();
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            List<String> values = group.stream().map(GroupCommitter.Item::value).toList();
            tried.add(values);
            if (values.contains("block")) {
                firstTaken.countDown();
                release.await();
            }
            if (values.contains("poison")) {
                throw new IllegalArgumentException("poisoned group");
            }
            group.forEach(i -> i.complete(i.value()));
        }).isolateFailures().onFailedAlone((v, e) -> failedAlone.add(v)).build();
        committer.start();

        CompletableFuture<String> block = committer.submit("block");
        assertThat(firstTaken.await(10, TimeUnit.SECONDS)).isTrue();
        // these queue while the writer is busy, so they are taken as one group
        CompletableFuture<String> a = committer.submit("a");
        CompletableFuture<String> poison = committer.submit("poison");
        CompletableFuture<String> b = committer.submit("b");
        release.countDown();

        assertThat(block.get(10, TimeUnit.SECONDS)).isEqualTo("block");
        assertThat(a.get(10, TimeUnit.SECONDS)).isEqualTo("a");
        assertThat(b.get(10, TimeUnit.SECONDS)).isEqualTo("b");
        assertThatThrownBy(() -> poison.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalArgumentException.class);
        assertThat(tried).contains(List.of("a", "poison", "b"), List.of("a"), List.of("poison"), List.of("b"));
        assertThat(failedAlone).containsExactly("poison");
    }

    @Test
    void anUnavailableStoreFailsTheGroupWithoutRetryingEachItem() throws Exception {
        CountDownLatch firstTaken = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger steps = new AtomicInteger();
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            steps.incrementAndGet();
            if (group.get(0).value().equals("block")) {
                firstTaken.countDown();
                release.await();
                group.forEach(i -> i.complete(i.value()));
                return;
            }
            throw new GroupCommitter.Unavailable(new java.sql.SQLException("no connection"));
        }).isolateFailures().build();
        committer.start();

        committer.submit("block");
        assertThat(firstTaken.await(10, TimeUnit.SECONDS)).isTrue();
        List<CompletableFuture<String>> queued = List.of(committer.submit("a"), committer.submit("b"),
                committer.submit("c"));
        release.countDown();
        for (CompletableFuture<String> f : queued) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(java.sql.SQLException.class);
        }
        assertThat(steps.get()).as("one try for the blocked group, one for the rest").isEqualTo(2);
    }

    @Test
    void shutdownDrainsWhatIsQueuedAndCompletesEveryFuture() throws Exception {
        AtomicInteger committed = new AtomicInteger();
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            Thread.sleep(5);
            committed.addAndGet(group.size());
            group.forEach(i -> i.complete(i.value()));
        }).maxGroup(4).build();
        committer.start();

        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            all.add(committer.submit("m" + i));
        }
        committer.stop();
        CompletableFuture<String> late = committer.submit("late");

        assertThat(all).allMatch(CompletableFuture::isDone);
        assertThat(all).as("queued before stop: drained, not dropped").noneMatch(
                CompletableFuture::isCompletedExceptionally);
        assertThat(committed.get()).isEqualTo(200);
        assertThatThrownBy(() -> late.get(1, TimeUnit.SECONDS)).hasMessageContaining("test writer is not running");
        committer = null;
    }

    @Test
    void aStopWhileTheWriterIsStuckFailsWhatWaitsWithShuttingDown() throws Exception {
        CountDownLatch firstTaken = new CountDownLatch(1);
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            firstTaken.countDown();
            Thread.sleep(60_000); // a database that went away: only the interrupt after the grace period ends it
        }).stopGrace(Duration.ofMillis(200)).build();
        committer.start();

        CompletableFuture<String> stuck = committer.submit("stuck");
        assertThat(firstTaken.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<String> waiting = committer.submit("waiting");
        committer.stop();

        assertThatThrownBy(() -> stuck.get(5, TimeUnit.SECONDS)).hasMessageContaining("hub is shutting down");
        assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS)).hasMessageContaining("hub is shutting down");
        committer = null;
    }

    @Test
    void theBetweenHookRunsOnTheWriterThreadWhenIdleAndAfterDrainAtStop() throws Exception {
        AtomicInteger idleRuns = new AtomicInteger();
        Map<String, String> hookThreads = new ConcurrentHashMap<>();
        CountDownLatch drained = new CountDownLatch(1);
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            hookThreads.put("step", Thread.currentThread().getName());
            group.forEach(i -> i.complete(i.value()));
        }).threadName(i -> "caravan-test-writer").pollInterval(Duration.ofMillis(10)).between(() -> {
            idleRuns.incrementAndGet();
            hookThreads.put("between", Thread.currentThread().getName());
        }).afterDrain(() -> {
            hookThreads.put("afterDrain", Thread.currentThread().getName());
            drained.countDown();
        }).build();
        committer.start();

        Thread.sleep(300); // nothing submitted
        assertThat(idleRuns.get()).as("periodic duties run on an idle writer").isGreaterThanOrEqualTo(5);
        assertThat(committer.submit("x").get(5, TimeUnit.SECONDS)).isEqualTo("x");
        committer.stop();
        assertThat(drained.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(hookThreads).containsEntry("step", "caravan-test-writer")
                .containsEntry("between", "caravan-test-writer").containsEntry("afterDrain", "caravan-test-writer");
        committer = null;
    }

    @Test
    void itemsWithOneKeyStayInOrderOnOnePartition() throws Exception {
        Map<String, List<String>> seenByThread = new ConcurrentHashMap<>();
        committer = GroupCommitter.<String, String>builder("test writer", group -> {
            for (GroupCommitter.Item<String, String> i : group) {
                seenByThread.computeIfAbsent(Thread.currentThread().getName(), k -> new CopyOnWriteArrayList<>())
                        .add(i.value());
                i.complete(i.value());
            }
        }).partitions(4, v -> v.substring(0, v.indexOf(':'))).threadName(i -> "caravan-test-writer-" + i).build();
        committer.start();

        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int n = 0; n < 50; n++) {
            for (String key : List.of("k1", "k2", "k3", "k4", "k5")) {
                all.add(committer.submit(key + ":" + n));
            }
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

        assertThat(seenByThread.keySet()).allMatch(t -> t.startsWith("caravan-test-writer-"));
        for (String key : List.of("k1", "k2", "k3", "k4", "k5")) {
            List<String> threads = seenByThread.entrySet().stream()
                    .filter(e -> e.getValue().stream().anyMatch(v -> v.startsWith(key + ":"))).map(Map.Entry::getKey)
                    .toList();
            assertThat(threads).as(key + " on one writer").hasSize(1);
            List<Integer> order = seenByThread.get(threads.get(0)).stream().filter(v -> v.startsWith(key + ":"))
                    .map(v -> Integer.parseInt(v.substring(v.indexOf(':') + 1))).toList();
            assertThat(order).isSorted().hasSize(50);
        }
    }
}
