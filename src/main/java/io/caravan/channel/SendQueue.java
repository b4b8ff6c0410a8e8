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
 * alone (the seda producer reports a full queue as a bare {@code IllegalStateException}, which any bug could throw
 * too).
 */
@Component("sendQueue")
public class SendQueue implements Processor {

    private final ProducerTemplate producer;
    private final String prompt;
    private final String bulk;
    private final int size;

    public SendQueue(ProducerTemplate producer, @Value("${caravan.email.send-queue:10000}") int size) {
        this.producer = producer;
        this.size = size;
        // a full queue waits this long, then the message stays parked in the store: planners never wait for senders
        String options = "?size=" + size + "&blockWhenFull=true&offerTimeout=50";
        this.prompt = "seda:send-queue" + options;
        this.bulk = "seda:send-queue-bulk" + options;
    }

    /**
     * How many more messages a lane takes now: none while its senders' route ({@code send-prompt}, {@code send-bulk})
     * is not running - held by an operator, or stopping - so the retry sweep leaves its messages in the store rather
     * than leasing them into a queue nobody reads (a lease that ran out there would hand the message over twice).
     */
    public int room(boolean bulkLane) {
        org.apache.camel.CamelContext camel = producer.getCamelContext();
        org.apache.camel.ServiceStatus senders = camel.getRouteController().getRouteStatus(bulkLane ? "send-bulk"
                : "send-prompt");
        if (senders == null || !senders.isStarted()) {
            return 0;
        }
        org.apache.camel.component.seda.SedaEndpoint queue = camel.getEndpoint(bulkLane ? bulk : prompt,
                org.apache.camel.component.seda.SedaEndpoint.class);
        return queue == null ? size : queue.getQueue().remainingCapacity();
    }

    /** How many messages wait in this node's queue of a lane. */
    public int queued(boolean bulkLane) {
        org.apache.camel.component.seda.SedaEndpoint queue = producer.getCamelContext().getEndpoint(bulkLane ? bulk
                : prompt, org.apache.camel.component.seda.SedaEndpoint.class);
        return queue == null ? 0 : queue.getCurrentQueueSize();
    }

    @Override
    public void process(Exchange ex) throws Exception {
        String uri = Boolean.TRUE.equals(ex.getProperty(Messages.BULK, Boolean.class)) ? bulk : prompt;
        Exchange out = producer.send(uri, e -> {
            e.setProperty(Messages.MESSAGE_ID, ex.getProperty(Messages.MESSAGE_ID));
            e.setProperty(Messages.BULK, ex.getProperty(Messages.BULK));
        });
        Exception e = out.getException();
        if (e instanceof IllegalStateException) {
            throw new SendQueueFull();
        }
        if (e != null) {
            throw e;
        }
    }
}
