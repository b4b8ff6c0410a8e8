package io.caravan.consent;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.crypto.OpaqueTokens;
import io.caravan.support.Stores;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class UnsubscribeTokensTest {

    @Test
    void aLinkNamesItsMessageAndOneSentBeforeMessagesWereNamedStillOpens() throws Exception {
        io.caravan.crypto.FieldCipher cipher = Stores.cipher();
        UnsubscribeTokens tokens = new UnsubscribeTokens(cipher);
        UUID contact = UUID.randomUUID();
        UUID message = UUID.randomUUID();

        assertThat(tokens.open(tokens.issue(contact, "email", "marketing", message)))
                .hasValue(new UnsubscribeTokens.Scope(contact, "email", "marketing", message));
        assertThat(tokens.open(tokens.issue(contact, "email", "marketing")))
                .hasValue(new UnsubscribeTokens.Scope(contact, "email", "marketing", null));

        // the form every marketing email carried before: contact, channel, purpose, nothing after
        ByteBuffer b = ByteBuffer.allocate(16 + 2 + 5 + 9);
        b.putLong(contact.getMostSignificantBits()).putLong(contact.getLeastSignificantBits());
        b.put((byte) 5).put("email".getBytes(StandardCharsets.UTF_8)).put((byte) 9)
                .put("marketing".getBytes(StandardCharsets.UTF_8));
        String old = new OpaqueTokens(cipher).issue("unsubscribe-v1", b.array());
        assertThat(tokens.open(old)).hasValue(new UnsubscribeTokens.Scope(contact, "email", "marketing", null));

        // a genuine token of the right use with trailing bytes that are no message id is not a link
        ByteBuffer odd = ByteBuffer.allocate(b.capacity() + 3).put(b.array()).put(new byte[3]);
        assertThat(tokens.open(new OpaqueTokens(cipher).issue("unsubscribe-v1", odd.array()))).isEmpty();
    }
}
