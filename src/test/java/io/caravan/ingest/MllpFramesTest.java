package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MllpFramesTest {

    static byte[] frame(String s) {
        return io.caravan.support.MllpTestClient.frame(s);
    }

    static List<String> drain(MllpFrames f) {
        List<String> out = new ArrayList<>();
        byte[] p;
        while ((p = f.next()) != null) {
            out.add(new String(p, StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void threeFramesInOneWriteAreAllDelivered() throws Exception {
        MllpFrames f = new MllpFrames(1 << 20);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(frame("A"));
        b.writeBytes(frame("B"));
        b.writeBytes(frame("C"));
        f.append(b.toByteArray(), 0, b.size());
        assertThat(drain(f)).containsExactly("A", "B", "C");
        assertThat(f.inFrame()).isFalse();
    }

    @Test
    void aFrameSplitAcrossReadsByteByByteIsReassembled() throws Exception {
        MllpFrames f = new MllpFrames(1 << 20);
        byte[] all = frame("MSH|^~\\&|X\rPID|1\r");
        List<String> got = new ArrayList<>();
        for (byte x : all) {
            f.append(new byte[] {x}, 0, 1);
            got.addAll(drain(f));
        }
        assertThat(got).containsExactly("MSH|^~\\&|X\rPID|1\r");
    }

    @Test
    void strayBytesBetweenFramesAreDroppedAndCounted() throws Exception {
        MllpFrames f = new MllpFrames(1 << 20);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("\r\ngarbage".getBytes());
        b.writeBytes(frame("A"));
        b.writeBytes("\n".getBytes());
        b.writeBytes(frame("B"));
        f.append(b.toByteArray(), 0, b.size());
        assertThat(drain(f)).containsExactly("A", "B");
        assertThat(f.discardedBytes()).isEqualTo(10);
    }

    @Test
    void aTruncatedFrameFollowedByANewOneYieldsOnlyTheCompleteOne() throws Exception {
        MllpFrames f = new MllpFrames(1 << 20);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x0b);
        b.writeBytes("MSH|cut short".getBytes());
        b.writeBytes(frame("WHOLE"));
        f.append(b.toByteArray(), 0, b.size());
        assertThat(drain(f)).containsExactly("WHOLE");
        assertThat(f.truncatedFrames()).isEqualTo(1);
    }

    @Test
    void anOpenFrameWaitsForTheRest() throws Exception {
        MllpFrames f = new MllpFrames(1 << 20);
        byte[] all = frame("A");
        f.append(all, 0, all.length - 1); // everything but the final CR
        assertThat(drain(f)).isEmpty();
        assertThat(f.inFrame()).isTrue();
        f.append(all, all.length - 1, 1);
        assertThat(drain(f)).containsExactly("A");
    }

    @Test
    void aFrameLargerThanTheLimitIsRefused() throws Exception {
        MllpFrames f = new MllpFrames(4096);
        byte[] chunk = new byte[1024];
        chunk[0] = 0x0b;
        assertThatThrownBy(() -> {
            for (int i = 0; i < 10; i++) {
                f.append(chunk, 0, chunk.length);
                chunk[0] = 'x';
                f.next();
            }
        }).isInstanceOf(MllpFrames.FrameTooLargeException.class);
    }

    @Test
    void manyFramesOverManyReadsKeepOrderAndMemoryBounded() throws Exception {
        MllpFrames f = new MllpFrames(1 << 16);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < 2000; i++) {
            b.writeBytes(frame("M" + i));
        }
        byte[] all = b.toByteArray();
        List<String> got = new ArrayList<>();
        for (int off = 0; off < all.length; off += 777) {
            f.append(all, off, Math.min(777, all.length - off));
            got.addAll(drain(f));
        }
        assertThat(got).hasSize(2000);
        assertThat(got.get(1999)).isEqualTo("M1999");
    }

    @Test
    void aLargeFrameInManySmallWritesIsReassembledInLinearTime() throws Exception {
        // 4 MiB in 1 KiB writes: rescanning the open frame on every read examines ~8 billion bytes (seconds);
        // resuming the scan examines each byte once (milliseconds)
        int size = 4 << 20;
        byte[] all = new byte[size + 3];
        Arrays.fill(all, (byte) 'x');
        all[0] = 0x0b;
        all[size + 1] = 0x1c;
        all[size + 2] = 0x0d;
        MllpFrames f = new MllpFrames(8 << 20);
        List<byte[]> got = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            for (int off = 0; off < all.length; off += 1024) {
                f.append(all, off, Math.min(1024, all.length - off));
                byte[] p;
                while ((p = f.next()) != null) {
                    got.add(p);
                }
            }
        });
        assertThat(got).hasSize(1);
        assertThat(got.get(0)).hasSize(size);
        assertThat(f.scannedBytes()).isLessThanOrEqualTo(all.length);
    }

    @Test
    void framesBeyondTheSharedMemoryBudgetAreRefusedAndTheBudgetIsGivenBack() throws Exception {
        MllpMemoryBudget budget = new MllpMemoryBudget(1 << 20);
        byte[] big = new byte[600 * 1024];
        big[0] = 0x0b;
        MllpFrames first = new MllpFrames(8 << 20, budget);
        first.append(big, 0, big.length);
        assertThat(first.next()).isNull();
        MllpFrames second = new MllpFrames(8 << 20, budget);
        // the first connection's open frame holds most of the budget: the second cannot grow as large
        assertThatThrownBy(() -> second.append(big, 0, big.length))
                .isInstanceOf(MllpFrames.MemoryBudgetExceededException.class)
                .hasMessageNotContaining("x");
        second.close();
        first.close();
        assertThat(budget.used()).isZero();
        // once given back, the same frame fits again and a small one is served alongside
        MllpFrames third = new MllpFrames(8 << 20, budget);
        byte[] whole = frame("MSH|^~\\&|A");
        third.append(big, 0, big.length);
        MllpFrames fourth = new MllpFrames(8 << 20, budget);
        fourth.append(whole, 0, whole.length);
        assertThat(drain(fourth)).containsExactly("MSH|^~\\&|A");
    }

    @Test
    void aDrainedBufferShrinksAndReturnsItsReservation() throws Exception {
        MllpMemoryBudget budget = new MllpMemoryBudget(64 << 20);
        MllpFrames f = new MllpFrames(8 << 20, budget);
        StringBuilder sb = new StringBuilder();
        sb.append("x".repeat(1 << 20));
        byte[] all = frame(sb.toString());
        f.append(all, 0, all.length);
        assertThat(drain(f)).hasSize(1);
        assertThat(budget.used()).isGreaterThan(1 << 20);
        f.append(frame("A"), 0, 4);
        assertThat(drain(f)).containsExactly("A");
        assertThat(budget.used()).isLessThanOrEqualTo(65536);
        f.close();
        assertThat(budget.used()).isZero();
    }
}
