package io.caravan.support;

/** Byte-level search, for checking that no clear text sits in stored blobs or files. */
public final class Bytes {

    private Bytes() {
    }

    public static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
