package io.caravan.channel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.stereotype.Component;

/** The registered channels: every {@link Channel} bean in the application (email first; a test may add its own). */
@Component
public class Channels {

    /** A request or a workflow named a channel nobody registered (400): names it and the registered ones. */
    public static final class UnknownChannel extends IllegalArgumentException {
        UnknownChannel(String name, Set<String> registered) {
            super("unknown channel '" + name + "'; registered channels: " + registered);
        }
    }

    private final Map<String, Channel> byName = new LinkedHashMap<>();

    public Channels(List<Channel> channels) {
        for (Channel c : channels) {
            if (byName.put(c.name(), c) != null) {
                throw new IllegalStateException("two channels named " + c.name());
            }
        }
    }

    public Optional<Channel> find(String name) {
        return Optional.ofNullable(name == null ? null : byName.get(name));
    }

    public Channel require(String name) {
        return find(name).orElseThrow(() -> new UnknownChannel(name, names()));
    }

    /** The channels another node sends for now ({@link Channel#sendsHere}). */
    public List<String> elsewhere() {
        return byName.values().stream().filter(c -> !c.sendsHere()).map(Channel::name).toList();
    }

    public Set<String> names() {
        return new TreeSet<>(byName.keySet());
    }
}
