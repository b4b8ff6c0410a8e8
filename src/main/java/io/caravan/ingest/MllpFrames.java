package io.caravan.ingest;

import java.util.Arrays;

/**
 * Cuts an MLLP byte stream into frames: {@code <VT> payload <FS><CR>}. Any number of frames may arrive in one read
 * and a frame may span many reads. Bytes outside a frame (stray CR/LF, garbage) are dropped and counted; a new
 * {@code <VT>} before the end of a frame means the previous frame was truncated: it is dropped and counted, and the
 * sender, which never got an ACK for it, will resend.
 *
 * <p>Every byte is examined once: the scan resumes where the previous read stopped, so a large frame delivered in many
 * small writes costs linear time (rescanning the open frame on every read made an 8 MiB frame in 1 KiB writes cost
 * billions of comparisons). Memory is bounded twice: per frame by {@code maxFrameBytes}, and across connections by the
 * shared {@link MllpMemoryBudget}, from which the receive buffer's whole capacity is reserved.
 */
final class MllpFrames implements AutoCloseable {

    static final byte VT = 0x0b;
    static final byte FS = 0x1c;
    static final byte CR = 0x0d;

    private static final int INITIAL = 8192;

    private final int maxFrameBytes;
    private final MllpMemoryBudget budget;
    private byte[] buf;
    private int len;
    /** First byte not yet consumed: the open frame's VT, or where garbage starts. */
    private int pos;
    /** Next byte to examine; everything in [pos, scan) is known not to hold a frame boundary. */
    private int scan;
    /** True when buf[pos] is the VT of a frame still arriving. */
    private boolean open;
    /** A frame's FS was the last byte received: its CR (or the next frame) decides where the frame ends. */
    private int fsAt = -1;
    private long framesStarted;
    private long discardedBytes;
    private long truncatedFrames;
    private long scannedBytes;

    MllpFrames(int maxFrameBytes) {
        this(maxFrameBytes, MllpMemoryBudget.unlimited());
    }

    MllpFrames(int maxFrameBytes, MllpMemoryBudget budget) {
        this.maxFrameBytes = maxFrameBytes;
        this.budget = budget;
        if (!budget.tryReserve(INITIAL)) {
            throw new MemoryBudgetExceededException(budget.limit());
        }
        this.buf = new byte[INITIAL];
    }

    /**
     * Appends received bytes. Throws when a frame outgrows the limit or the shared budget has no room for it (the
     * connection should then be closed).
     */
    void append(byte[] data, int off, int n) throws FrameTooLargeException {
        compact();
        if (len + n > buf.length) {
            if (len + n > maxFrameBytes + 2L) {
                throw new FrameTooLargeException();
            }
            resize(Math.min(Math.max(buf.length * 2, len + n), maxFrameBytes + 2));
        }
        System.arraycopy(data, off, buf, len, n);
        len += n;
    }

    /** The next complete payload (without envelope), or null when none is complete yet. */
    byte[] next() {
        while (true) {
            if (fsAt >= 0) {
                if (fsAt + 1 >= len) {
                    return null; // wait for the CR
                }
                byte[] payload = Arrays.copyOfRange(buf, pos + 1, fsAt);
                pos = buf[fsAt + 1] == CR ? fsAt + 2 : fsAt + 1;
                scan = pos;
                fsAt = -1;
                open = false;
                return payload;
            }
            if (!open) {
                int start = indexOf(VT, scan);
                if (start < 0) {
                    discardedBytes += len - pos;
                    pos = len;
                    scan = len;
                    return null;
                }
                discardedBytes += start - pos;
                pos = start;
                scan = start + 1;
                open = true;
                framesStarted++;
            }
            int i = scan;
            for (; i < len; i++) {
                byte b = buf[i];
                if (b == VT) {
                    // a new frame starts before this one ended: the earlier one was cut short
                    truncatedFrames++;
                    discardedBytes += i - pos;
                    pos = i;
                    open = false;
                    break;
                }
                if (b == FS) {
                    fsAt = i;
                    break;
                }
            }
            scannedBytes += i - scan;
            scan = i;
            if (open && fsAt < 0) {
                return null; // frame still open
            }
        }
    }

    /** True while part of a frame has been received. Valid after {@link #next()} returned null. */
    boolean inFrame() {
        return open;
    }

    /** Frames begun so far (a VT seen): tells the caller when a new frame opened, to start its deadline. */
    long framesStarted() {
        return framesStarted;
    }

    long discardedBytes() {
        return discardedBytes;
    }

    long truncatedFrames() {
        return truncatedFrames;
    }

    /** Bytes examined inside frames; linear in the bytes received. */
    long scannedBytes() {
        return scannedBytes;
    }

    /** Gives the buffer's reservation back to the shared budget. */
    @Override
    public void close() {
        if (buf != null) {
            budget.release(buf.length);
            buf = null;
        }
    }

    private int indexOf(byte b, int from) {
        for (int i = from; i < len; i++) {
            if (buf[i] == b) {
                scannedBytes += i - from + 1;
                return i;
            }
        }
        scannedBytes += Math.max(0, len - from);
        return -1;
    }

    private void compact() {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, len - pos);
            len -= pos;
            scan -= pos;
            if (fsAt >= 0) {
                fsAt -= pos;
            }
            pos = 0;
        }
        if (len == 0 && buf.length > 65536) {
            resize(INITIAL); // give back memory after a large message
        }
    }

    private void resize(int capacity) {
        int delta = capacity - buf.length;
        if (delta > 0 && !budget.tryReserve(delta)) {
            throw new MemoryBudgetExceededException(budget.limit());
        }
        buf = Arrays.copyOf(buf, capacity);
        if (delta < 0) {
            budget.release(-delta);
        }
    }

    static final class FrameTooLargeException extends Exception {
        FrameTooLargeException() {
            super("MLLP frame exceeds the configured maximum size");
        }
    }

    /** The listeners' shared memory budget has no room for this connection's frame. */
    static final class MemoryBudgetExceededException extends RuntimeException {
        MemoryBudgetExceededException(long limit) {
            super("MLLP memory budget of " + limit + " bytes is in use by other connections");
        }
    }
}
