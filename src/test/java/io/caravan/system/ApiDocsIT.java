package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.TestHub;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.ResponseBody;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/** The OpenAPI description an integration engineer downloads: complete, with roles and problem types. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiDocsIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("api-docs").register(r);
    }

    @Autowired
    TestRestTemplate rest;

    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    RequestMappingHandlerMapping mappings;

    JsonNode doc;

    @BeforeAll
    void download() throws Exception {
        ResponseEntity<String> r = rest.withBasicAuth("admin", TestHub.named("api-docs").adminPassword())
                .getForEntity("/v3/api-docs", String.class);
        assertThat(r.getStatusCode()).as(r.toString()).isEqualTo(HttpStatus.OK);
        doc = JSON.readTree(r.getBody());
    }

    @Test
    void needsCredentials() {
        assertThat(rest.getForEntity("/v3/api-docs", String.class).getStatusCode())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
    }

    @Test
    void everyControllerEndpointIsDescribed() {
        List<String> missing = new ArrayList<>();
        int seen = 0;
        for (var e : mappings.getHandlerMethods().entrySet()) {
            // the REST API: handlers that answer with a body (a redirect to the console is not part of it)
            if (!e.getValue().getBeanType().getPackageName().startsWith("io.caravan")
                    || !(e.getValue().hasMethodAnnotation(ResponseBody.class) || AnnotatedElementUtils.hasAnnotation(
                            e.getValue().getBeanType(), ResponseBody.class))) {
                continue;
            }
            RequestMappingInfo info = e.getKey();
            Set<RequestMethod> methods = info.getMethodsCondition().getMethods();
            for (String pattern : info.getPatternValues()) {
                String path = pattern.replaceAll("\\{(\\w+):[^}]*}", "{$1}");
                for (RequestMethod m : methods.isEmpty() ? Set.of(RequestMethod.GET) : methods) {
                    seen++;
                    JsonNode op = doc.path("paths").path(path).path(m.name().toLowerCase());
                    if (op.isMissingNode()) {
                        missing.add(m + " " + path);
                    }
                }
            }
        }
        assertThat(seen).isGreaterThan(30);
        assertThat(missing).as("endpoints absent from /v3/api-docs").isEmpty();
    }

    @Test
    void eachOperationNamesTheRolesThatMayCallIt() {
        assertThat(roles("/api/audit", "get")).containsExactly("COMPLIANCE");
        assertThat(roles("/api/messages", "post")).containsExactly("INTEGRATION");
        assertThat(roles("/api/contacts/{id}", "get")).containsExactly("COMPLIANCE", "INTEGRATION");
        assertThat(roles("/api/contacts/{id}/{kind}/{recordId}/revocation", "post")).containsExactly("COMPLIANCE");
        assertThat(roles("/portal/{token}", "get")).isEmpty();
        assertThat(doc.at("/paths/~1portal~1{token}/get/security")).hasSize(0);
        assertThat(doc.at("/paths/~1api~1audit/get/security/0/basic").isArray()).isTrue();
        doc.path("paths").forEach(p -> p.forEach(op -> assertThat(op.has("x-caravan-roles"))
                .as(op.path("operationId").asText()).isTrue()));
    }

    @Test
    void errorsAreProblemDocumentsAndRequestBodiesAreTyped() {
        JsonNode notFound = doc.at("/paths/~1api~1contacts~1{id}/get/responses/404/content");
        assertThat(notFound.has("application/problem+json")).as(notFound.toString()).isTrue();
        JsonNode unauthorized = doc.at("/paths/~1api~1audit/get/responses/401/content");
        assertThat(unauthorized.has("application/problem+json")).isTrue();
        assertThat(doc.at("/components/schemas/Problem/properties/detail").isMissingNode()).isFalse();
        JsonNode body = doc.at("/paths/~1api~1contacts~1{id}~1authorizations/post/requestBody/content");
        assertThat(body.toString()).contains("$ref");
    }

    private List<String> roles(String path, String method) {
        JsonNode r = doc.path("paths").path(path).path(method).path("x-caravan-roles");
        assertThat(r.isArray()).as(path + " " + method + " has roles").isTrue();
        List<String> out = new ArrayList<>();
        r.forEach(n -> out.add(n.asText()));
        return out;
    }
}
