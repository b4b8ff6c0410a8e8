package io.caravan.system;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Resolves the home before any bean reads a file: every location setting of a loader is rewritten to what
 * {@link CaravanHome#dir} returns for it, so each loader reads "home over shipped defaults" without knowing about
 * either. A loader with a new location setting adds its key and default here.
 */
public class CaravanHomeEnvironment implements EnvironmentPostProcessor, Ordered {

    /** Location settings of the loaders and the default each record/@Value falls back to. */
    static final Map<String, String> LOCATIONS = Map.of(
            "caravan.mapping.hl7v2-dir", "mappings/hl7v2",
            "caravan.mapping.adapters-dir", "adapters",
            "caravan.fhir.mappings-dir", "mappings/fhir",
            "caravan.workflow.dir", "config/workflows",
            "caravan.segments.dir", "config/segments",
            "caravan.consent.policies-dir", "config/policies",
            "caravan.sms.templates-dir", "config/templates/sms",
            "caravan.email.templates-dir", "config/templates/email");

    static final String ROUTES = "camel.main.routes-include-pattern";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment env, SpringApplication application) {
        ClassLoader loader = application.getClassLoader() != null ? application.getClassLoader()
                : CaravanHomeEnvironment.class.getClassLoader();
        CaravanHome home = CaravanHome.open(env.getProperty("caravan.home"), env.getProperty("caravan.data-dir"),
                loader);
        // only what the home changes: a setting that resolves to itself (a source checkout) is left to whatever
        // sets it, including property sources added after this one (a test's dynamic properties)
        Map<String, Object> resolved = new LinkedHashMap<>();
        resolved.put("caravan.home", home.home().toString());
        boolean checkout = home.home().equals(java.nio.file.Path.of("").toAbsolutePath());
        if (!checkout) {
            resolved.put("caravan.data-dir", home.dataDir().toString());
        }
        LOCATIONS.forEach((key, fallback) -> {
            String configured = env.getProperty(key, fallback);
            String dir = home.dir(configured).toString();
            if (!dir.equals(configured)) {
                resolved.put(key, dir);
            }
        });
        String routes = env.getProperty(ROUTES);
        String homeRoutes = routes == null ? null : routes(routes, home);
        if (homeRoutes != null && !homeRoutes.equals(routes)) {
            resolved.put(ROUTES, homeRoutes);
        }
        env.getPropertySources().addFirst(new MapPropertySource("caravanHome", resolved));
    }

    /** {@code file:<relative dir>/<glob>} parts read the home over the shipped routes; other parts stay. */
    static String routes(String pattern, CaravanHome home) {
        StringBuilder out = new StringBuilder();
        for (String part : pattern.split(",")) {
            String p = part.trim();
            if (p.startsWith("file:")) {
                String path = p.substring("file:".length());
                int slash = path.lastIndexOf('/');
                if (slash > 0 && !java.nio.file.Path.of(path.substring(0, slash)).isAbsolute()) {
                    String dir = home.dir(path.substring(0, slash)).toString().replace('\\', '/');
                    p = "file:" + dir + path.substring(slash);
                }
            }
            out.append(out.length() == 0 ? "" : ",").append(p);
        }
        return out.toString();
    }

    @Override
    public int getOrder() {
        // after the config files are read (ConfigDataEnvironmentPostProcessor), so their settings count
        return Ordered.LOWEST_PRECEDENCE;
    }
}
