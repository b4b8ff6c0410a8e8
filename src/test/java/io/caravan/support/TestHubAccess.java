package io.caravan.support;

/** Shared helpers for test support classes. */
final class TestHubAccess {

    private TestHubAccess() {
    }

    static String param(String url, String name, String otherwise) {
        return TestHub.param(url, name, otherwise);
    }
}
