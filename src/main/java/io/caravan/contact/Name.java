package io.caravan.contact;

import java.util.List;

public record Name(String family, List<String> given) {
}
