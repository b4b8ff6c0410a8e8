package io.caravan.system;

import java.util.Map;
import java.util.Set;
import javax.management.ObjectName;
import org.jolokia.server.core.service.api.Restrictor;
import org.jolokia.server.core.util.HttpMethod;
import org.jolokia.server.core.util.RequestType;

/**
 * Jolokia behind Hawtio, read-only: attributes may be read, MBeans listed and searched; no attribute is written,
 * and only the few side-effect-free operations Hawtio needs to draw its tree and Camel's routes may run (Hawtio's
 * RBAC registry lists the MBeans it shows, Camel dumps routes and statistics). Everything else — DiagnosticCommand,
 * heap dumps, logger changes, route start/stop — is refused. Written as a restrictor because an {@code <allow>}
 * section of a policy file alone did not stop other operations (measured with Jolokia 2.1.1).
 */
public class ReadOnlyJolokiaRestrictor implements Restrictor {

    private static final Map<String, Set<String>> OPERATIONS_BY_DOMAIN = Map.of(
            "hawtio", Set.of("list"),
            "org.apache.camel", Set.of("dumpRoutesAsXml", "dumpRoutesAsYaml", "dumpRouteAsXml", "dumpStatsAsXml",
                    "dumpRouteStatsAsXml", "dumpStepStatsAsXml", "createRouteStaticEndpointJson"));
    private static final Set<String> HIDDEN_DOMAINS = Set.of("jolokia");

    @Override
    public boolean isHttpMethodAllowed(HttpMethod method) {
        return method == HttpMethod.GET || method == HttpMethod.POST;
    }

    @Override
    public boolean isTypeAllowed(RequestType type) {
        return type == RequestType.READ || type == RequestType.LIST || type == RequestType.SEARCH
                || type == RequestType.VERSION || type == RequestType.EXEC;
    }

    @Override
    public boolean isAttributeReadAllowed(ObjectName name, String attribute) {
        return !"com.sun.management".equals(name.getDomain()) || !name.toString().contains("DiagnosticCommand");
    }

    @Override
    public boolean isAttributeWriteAllowed(ObjectName name, String attribute) {
        return false;
    }

    @Override
    public boolean isOperationAllowed(ObjectName name, String operation) {
        Set<String> allowed = OPERATIONS_BY_DOMAIN.get(name.getDomain());
        int paren = operation.indexOf('(');
        String bare = paren < 0 ? operation : operation.substring(0, paren);
        return allowed != null && allowed.contains(bare);
    }

    @Override
    public boolean isRemoteAccessAllowed(String... hostOrAddress) {
        return true; // the HTTP layer authenticates every caller
    }

    /**
     * Jolokia echoed any {@code Origin} back with {@code Access-Control-Allow-Credentials: true} when this said yes to
     * the CORS question ({@code false}): it now never grants CORS. The strict check ({@code true}) is asked of every
     * request, the console's own included, and stays yes: cross-origin requests are refused before Jolokia by the
     * hub's same-origin policy ({@code SecurityConfig}), which knows the hub's own origin and this method does not.
     */
    @Override
    public boolean isOriginAllowed(String origin, boolean onlyWhenStrictCheckingIsEnabled) {
        return onlyWhenStrictCheckingIsEnabled;
    }

    @Override
    public boolean isObjectNameHidden(ObjectName name) {
        return HIDDEN_DOMAINS.contains(name.getDomain());
    }
}
