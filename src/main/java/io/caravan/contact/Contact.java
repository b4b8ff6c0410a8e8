package io.caravan.contact;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * A patient (or member) as the hub knows them: the public JSON shape of BRIEF.md. Stored encrypted as one sealed
 * JSON document per contact.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class Contact {

    public UUID id;
    public List<Identifier> identifiers = new ArrayList<>();
    public Name name;
    public String birthDate;
    public String gender;
    public String email;
    public String phone;
    public String language;
    public Address address;
    public List<String> restrictions = new ArrayList<>();
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public Map<String, Object> attributes = new TreeMap<>();
    public Instant updatedAt;

    public Contact() {
    }

    public Contact(UUID id) {
        this.id = id;
    }

    @JsonIgnore
    public boolean hasIdentifier(Identifier other) {
        return identifiers.stream().anyMatch(i -> i.key().equals(other.key()));
    }
}
