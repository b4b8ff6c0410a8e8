package io.caravan.system;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Free-form details (audit details, what a consent record's signer signed, a message's template data) as JSON bytes,
 * ready to seal. One mapper, built once; times as ISO 8601 strings.
 */
public final class JsonMaps {

    private static final ObjectMapper MAPPER = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };

    private JsonMaps() {
    }

    public static byte[] write(Map<String, Object> details) {
        try {
            return MAPPER.writeValueAsBytes(details);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Map<String, Object> read(byte[] json) {
        try {
            return MAPPER.readValue(json, MAP);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable stored details", e);
        }
    }
}
