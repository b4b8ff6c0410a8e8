package io.caravan.system;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.http.HttpMethod;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.method.HandlerMethod;

/**
 * The OpenAPI 3 description of the REST API at {@code /v3/api-docs} (springdoc): every endpoint with the roles that
 * may call it (read from {@link AccessRules}, the table the security chain is built from) and its errors as RFC 9457
 * problem documents.
 */
@Configuration(proxyBeanMethods = false)
class ApiDocs {

    static final String BASIC = "basic";
    static final String PROBLEM = "Problem";
    static final String ROLES_EXTENSION = "x-caravan-roles";

    private static final Pattern VARIABLE = Pattern.compile("\\{(\\w+)(?::([^}]*))?}");
    private static final Pattern LITERALS = Pattern.compile("[\\w-]+(\\|[\\w-]+)*");

    /** The statuses every API operation can answer with a problem document, besides its own. */
    private static final Map<String, String> COMMON_PROBLEMS = Map.of(
            "400", "The request is malformed; the detail names the field and the form it expects",
            "401", "No or wrong credentials",
            "403", "The caller lacks the role",
            "500", "Unexpected failure; nothing about the request is echoed");

    @Bean
    OpenAPI caravanApi() {
        return new OpenAPI()
                .info(new Info().title("Caravan").version("0.1")
                        .description("Healthcare engagement hub: contacts from EHR feeds, the HIPAA gate, secure"
                                + " delivery and its audit trail. Roles per operation in '" + ROLES_EXTENSION
                                + "'; errors are application/problem+json (RFC 9457).")
                        .license(new License().name("Apache-2.0")))
                .components(new Components()
                        .addSecuritySchemes(BASIC, new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme(BASIC))
                        .addSchemas(PROBLEM, problemSchema()));
    }

    @Bean
    OperationCustomizer rolesAndProblems() {
        return (operation, handler) -> {
            String path = samplePath(handler);
            HttpMethod method = httpMethod(handler);
            AccessRules.Rule rule = AccessRules.decide(method, path).orElseThrow();
            document(operation, rule);
            if (VARIABLE.matcher(pathOf(handler)).find()) {
                operation.getResponses().putIfAbsent("404", problem("No such resource (or a malformed id)"));
            }
            return operation;
        };
    }

    private static void document(Operation operation, AccessRules.Rule rule) {
        List<String> roles = switch (rule.kind()) {
            case PUBLIC -> List.of();
            case AUTHENTICATED -> List.of("any");
            case ROLES -> List.copyOf(new TreeSet<>(rule.roles()));
        };
        operation.addExtension(ROLES_EXTENSION, roles);
        String who = switch (rule.kind()) {
            case PUBLIC -> "No credentials: " + rule.why() + ".";
            case AUTHENTICATED -> "Any authenticated user.";
            case ROLES -> "Roles: " + String.join(", ", roles) + " (" + rule.why() + ").";
        };
        operation.setDescription(operation.getDescription() == null ? who : operation.getDescription() + "\n\n" + who);
        if (rule.kind() != AccessRules.Kind.PUBLIC) {
            operation.setSecurity(List.of(new SecurityRequirement().addList(BASIC)));
        } else {
            operation.setSecurity(List.of());
        }
        ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
        responses.replaceAll((status, response) -> status.startsWith("2") ? response : problem(response
                .getDescription()));
        COMMON_PROBLEMS.forEach((status, description) -> {
            if (rule.kind() == AccessRules.Kind.PUBLIC && (status.equals("401") || status.equals("403"))) {
                return;
            }
            responses.putIfAbsent(status, problem(description));
        });
        operation.setResponses(responses);
    }

    private static ApiResponse problem(String description) {
        return new ApiResponse().description(description).content(new Content().addMediaType(
                org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                new MediaType().schema(new Schema<>().$ref("#/components/schemas/" + PROBLEM))));
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static Schema<?> problemSchema() {
        Schema s = new ObjectSchema().description("RFC 9457 problem details");
        s.addProperty("type", new Schema<>().type("string").format("uri"));
        s.addProperty("title", new Schema<>().type("string"));
        s.addProperty("status", new Schema<>().type("integer"));
        s.addProperty("detail", new Schema<>().type("string").description("What was wrong with the request; never"
                + " a stored value"));
        s.addProperty("instance", new Schema<>().type("string").format("uri"));
        return s;
    }

    private static String pathOf(HandlerMethod handler) {
        RequestMapping type = AnnotatedElementUtils.findMergedAnnotation(handler.getBeanType(), RequestMapping.class);
        RequestMapping method = AnnotatedElementUtils.findMergedAnnotation(handler.getMethod(), RequestMapping.class);
        String prefix = type == null || type.path().length == 0 ? "" : type.path()[0];
        return prefix + (method == null || method.path().length == 0 ? "" : method.path()[0]);
    }

    /** A concrete path the handler answers, to find its rule the way a request would. */
    static String samplePath(HandlerMethod handler) {
        Matcher m = VARIABLE.matcher(pathOf(handler));
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String regex = m.group(2);
            // {kind:authorizations|consents} stands for its first literal; anything else for one segment
            String sample = regex != null && LITERALS.matcher(regex).matches() ? regex.split("\\|")[0] : "x";
            m.appendReplacement(out, Matcher.quoteReplacement(sample));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static HttpMethod httpMethod(HandlerMethod handler) {
        RequestMapping method = AnnotatedElementUtils.findMergedAnnotation(handler.getMethod(), RequestMapping.class);
        return method == null || method.method().length == 0 ? HttpMethod.GET
                : HttpMethod.valueOf(method.method()[0].name());
    }
}
