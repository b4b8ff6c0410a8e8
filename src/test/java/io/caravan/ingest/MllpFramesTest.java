package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
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
}
