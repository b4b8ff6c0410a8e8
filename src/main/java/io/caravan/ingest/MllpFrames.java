package io.caravan.ingest;

import java.util.Arrays;

/**
 * Cuts an MLLP byte stream into frames: {@code <VT> payload <FS><CR>}. Any number of frames may arrive in one read
 * and a frame may span many reads. Bytes outside a frame (stray CR/LF, garbage) are dropped and counted; a new
 * {@code <VT>} before the end of a frame means the previous frame was truncated: it is dropped and counted, and the
 * sender, which never got an ACK for it, will resend. Memory is bounded by {@code maxFrameBytes}.
 */
final class MllpFrames {

    static final byte VT = 0x0b;
    static final byte FS = 0x1c;
    static final byte CR = 0x0d;

    private final int maxFrameBytes;
    private byte[] buf = new byte[8192];
    private int len;
    private int pos;
    private long discardedBytes;
    private long truncatedFrames;

    MllpFrames(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Appends received bytes. Throws when a frame outgrows the limit (the connection should then be closed). */
    void append(byte[] data, int off, int n) throws FrameTooLargeException {
        compact();
        if (len + n > buf.length) {
            if (len + n > maxFrameBytes + 2L) {
                throw new FrameTooLargeException();
            }
            buf = Arrays.copyOf(buf, Math.min(Math.max(buf.length * 2, len + n), maxFrameBytes + 2));
        }
        System.arraycopy(data, off, buf, len, n);
        len += n;
    }

    /** The next complete payload (without envelope), or null when none is complete yet. */
    byte[] next() {
        while (true) {
            int start = indexOf(VT, pos);
            if (start < 0) {
                discardedBytes += len - pos;
                pos = len;
                return null;
            }
            discardedBytes += start - pos;
            pos = start;
            for (int i = start + 1; i < len; i++) {
                byte b = buf[i];
                if (b == VT) {
                    // a new frame starts before this one ended: the earlier one was cut short
                    truncatedFrames++;
                    discardedBytes += i - start;
                    pos = i;
                    start = -1;
                    break;
                }
                if (b == FS) {
                    if (i + 1 >= len) {
                        return null; // wait for the CR
                    }
                    byte[] payload = Arrays.copyOfRange(buf, start + 1, i);
                    pos = buf[i + 1] == CR ? i + 2 : i + 1;
                    return payload;
                }
            }
            if (start >= 0) {
                return null; // frame still open
            }
        }
    }

    /** True while part of a frame has been received. */
    boolean inFrame() {
        return indexOf(VT, pos) >= 0;
    }

    long discardedBytes() {
        return discardedBytes;
    }

    long truncatedFrames() {
        return truncatedFrames;
    }

    private int indexOf(byte b, int from) {
        for (int i = from; i < len; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private void compact() {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, len - pos);
            len -= pos;
            pos = 0;
        }
        if (len == 0 && buf.length > 65536) {
            buf = new byte[8192]; // give back memory after a large message
        }
    }

    static final class FrameTooLargeException extends Exception {
        FrameTooLargeException() {
            super("MLLP frame exceeds the configured maximum size");
        }
    }
}
