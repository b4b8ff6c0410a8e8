package io.caravan.contact;

import java.util.List;

public record Address(List<String> line, String city, String state, String postalCode, String country) {
}
