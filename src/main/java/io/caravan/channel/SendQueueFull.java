package io.caravan.channel;

/**
 * The send queue stayed full for its offer timeout: the message waits in the store (status planned) and the retry
 * route hands it over when there is room. A checked exception of its own so the route catches this and nothing else.
 */
public final class SendQueueFull extends Exception {
    public SendQueueFull() {
        super("send queue full", null, false, false);
    }
}
