package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/** The environment-variable names README "Deploy" documents, bound as Spring Boot binds the real environment. */
class EnvironmentVariablesTest {

    static Binder environment(Map<String, Object> vars) {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, vars));
        ConfigurationPropertySources.attach(env);
        return Binder.get(env);
    }

    @Test
    void nestedAndDashedKeysComeFromUpperCaseUnderscoreNames() {
        Binder b = environment(Map.of("CARAVAN_MLLP_PORT", "2599", "CARAVAN_DATA_DIR", "/var/lib/caravan",
                "CARAVAN_EMAIL_PUBLIC_BASE_URL", "https://hub.example.org", "CARAVAN_HOME", "/opt/caravan"));

        assertThat(b.bind("caravan.mllp.port", Integer.class).get()).isEqualTo(2599);
        assertThat(b.bind("caravan.data-dir", String.class).get()).isEqualTo("/var/lib/caravan");
        assertThat(b.bind("caravan.email.public-base-url", String.class).get()).isEqualTo("https://hub.example.org");
        assertThat(b.bind("caravan.home", String.class).get()).isEqualTo("/opt/caravan");
    }

    @Test
    void listItemsComeFromIndexedNames() {
        Binder b = environment(Map.of("CARAVAN_MLLP_ACCEPTEDPROCESSINGIDS_0", "P",
                "CARAVAN_MLLP_ACCEPTEDPROCESSINGIDS_1", "T"));

        assertThat(b.bind("caravan.mllp.accepted-processing-ids", Bindable.listOf(String.class)).get())
                .isEqualTo(List.of("P", "T"));
    }
}
