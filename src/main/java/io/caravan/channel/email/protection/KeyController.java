package io.caravan.channel.email.protection;

import io.caravan.consent.ConsentService;
import java.security.Principal;
import java.util.List;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * Recipients' keys on file (BRIEF.md): {@code PUT /api/contacts/{id}/smime-certificate} (PEM) and
 * {@code PUT /api/contacts/{id}/pgp-key} (ASCII armour) validate and file a key; the list shows fingerprints and
 * validity, never key material; an expiry stops a key's use at once.
 */
@RestController
class KeyController {

    private final RecipientKeys keys;
    private final ConsentService consents;

    KeyController(RecipientKeys keys, ConsentService consents) {
        this.keys = keys;
        this.consents = consents;
    }

    @PutMapping(path = "/api/contacts/{id}/smime-certificate")
    RecipientKeys.KeyOnFile smime(@PathVariable UUID id, @RequestBody byte[] pem, Principal who) {
        io.caravan.contact.Contact c = consents.requireContact(id);
        return keys.putSmime(c.id, c.email, pem, who.getName());
    }

    @PutMapping(path = "/api/contacts/{id}/pgp-key")
    RecipientKeys.KeyOnFile pgp(@PathVariable UUID id, @RequestBody byte[] armour, Principal who) {
        return keys.putPgp(consents.requireContact(id).id, armour, who.getName());
    }

    @GetMapping("/api/contacts/{id}/keys")
    List<RecipientKeys.KeyOnFile> list(@PathVariable UUID id) {
        return keys.list(consents.requireContact(id).id);
    }

    @PostMapping("/api/contacts/{id}/keys/{keyId}/expiry")
    RecipientKeys.KeyOnFile expire(@PathVariable UUID id, @PathVariable UUID keyId, Principal who) {
        return keys.expire(consents.requireContact(id).id, keyId, who.getName());
    }
}
