package io.caravan.contact;

/**
 * Which identifiers link a record to a contact. The rules are the mappings' (per adapter, in
 * {@code io.caravan.mapping.IdentityRule}); the store asks through this interface so that it does not depend on the
 * package that feeds it.
 */
public interface LinkingIdentifiers {

    boolean links(Identifier id);
}
