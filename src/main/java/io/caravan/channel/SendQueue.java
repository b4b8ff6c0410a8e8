package io.caravan.channel;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.ProducerTemplate;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The {@code send-queue} route's step: offers a planned message's id to its lane's send queue ({@code seda:send-queue}
 * for the prompt lane, {@code seda:send-queue-bulk} for the bulk lane, each with its own senders) and throws
 * {@link SendQueueFull} when it stays full for the offer timeout, so the route parks the message on that exception
 * alone (the seda producer reports a full queue as a bare {@code IllegalStateException}, which any bug could throw too).
 */
@Component("sendQueue")
public class SendQueue implements Processor {

    private final ProducerTemplate producer;
    private final String prompt;
    private final String bulk;

    public SendQueue(ProducerTemplate producer, @Value("${caravan.email.send-queue:10000}") int size) {
        this.producer = producer;
        // a full queue waits this long, then the message stays parked in the store: planners never wait for senders
        String options = "?size=" + size + "&blockWhenFull=true&offerTimeout=50";
        this.prompt = "seda:send-queue" + options;
        this.bulk = "seda:send-queue-bulk" + options;
    }

    @Override
    public void process(Exchange ex) throws Exception {
        String uri = Boolean.TRUE.equals(ex.getProperty(Messages.BULK, Boolean.class)) ? bulk : prompt;
        Exchange out = producer.send(uri, e -> e.setProperty(Messages.MESSAGE_ID,
                ex.getProperty(Messages.MESSAGE_ID)));
        Exception e = out.getException();
        if (e instanceof IllegalStateException) {
            throw new SendQueueFull();
        }
        if (e != null) {
            throw e;
        }
    }
}
