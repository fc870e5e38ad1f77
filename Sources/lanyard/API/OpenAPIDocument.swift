/// The management API's OpenAPI document, served at /openapi.yaml. Generated from
/// docs/openapi.yaml by scripts/gen-openapi.py: edit that file, then run the script.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.0.3
info:
  title: Lanyard management API
  version: "1"
  description: |
    A switch's members, invites and live state. Served on /run/lanyard/NAME.api.sock (root only,
    no token) and, with --api-listen, on TCP, where every request needs an operator's bearer token
    (`lanyard member operator add NAME`). Errors are {"error": "..."} and change nothing.
servers:
  - url: http://localhost
security:
  - operator: []
components:
  securitySchemes:
    operator:
      type: http
      scheme: bearer
  responses:
    Error:
      description: Refused; nothing changed.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
  parameters:
    name:
      name: name
      in: path
      required: true
      schema: {type: string, pattern: "^[A-Za-z0-9._-]{1,63}$"}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
    Traffic:
      type: object
      additionalProperties: true
    Live:
      type: object
      description: What the running switch knows of the member now.
      required: [id, name, publicKey, state, macs, traffic]
      properties:
        id: {type: integer}
        name: {type: string}
        publicKey: {type: string}
        state: {type: string, enum: [up, down, never seen]}
        endpoint: {type: string}
        connectedSeconds: {type: number}
        lastHeardSeconds: {type: number}
        lastHandshakeSeconds: {type: number}
        macs: {type: integer}
        traffic: {$ref: "#/components/schemas/Traffic"}
        addresses: {type: array, items: {type: string}}
    Member:
      type: object
      required: [name, publicKey, hasPresharedKey, macs, addresses, tags, enabled, pending, createdAt]
      properties:
        name: {type: string}
        publicKey: {type: string}
        hasPresharedKey: {type: boolean}
        macs: {type: array, items: {type: string}}
        addresses: {type: array, items: {type: string}}
        tags: {type: array, items: {type: string}}
        enabled: {type: boolean}
        pending: {type: boolean}
        createdAt: {type: integer}
        invite: {type: string}
        live: {$ref: "#/components/schemas/Live"}
    NewMember:
      type: object
      additionalProperties: false
      required: [name, publicKey]
      properties:
        name: {type: string, pattern: "^[A-Za-z0-9._-]{1,63}$"}
        publicKey: {type: string, description: "Curve25519 public key, base64 (44 characters)"}
        presharedKey: {type: string}
        macs: {type: array, maxItems: 256, items: {type: string}}
        addresses: {type: array, maxItems: 256, items: {type: string}}
        tags: {type: array, maxItems: 256, items: {type: string}}
        enabled: {type: boolean}
    MemberChange:
      type: object
      additionalProperties: false
      properties:
        name: {type: string}
        tags: {type: array, maxItems: 256, items: {type: string}}
        enabled: {type: boolean}
        pending: {type: boolean, description: "false approves a member that joined with an invite needing approval"}
        macs: {type: array, maxItems: 256, items: {type: string}}
        addresses: {type: array, maxItems: 256, items: {type: string}}
    MemberList:
      type: object
      required: [version, members]
      properties:
        version: {type: integer}
        members: {type: array, items: {$ref: "#/components/schemas/Member"}}
    Invite:
      type: object
      required: [id, name, createdAt, usesLeft, used, revoked, needsApproval, tags]
      properties:
        id: {type: string}
        name: {type: string}
        createdAt: {type: integer}
        expiresAt: {type: integer}
        usesLeft: {type: integer}
        used: {type: integer}
        revoked: {type: boolean}
        needsApproval: {type: boolean}
        tags: {type: array, items: {type: string}}
        token: {type: string, description: "Only in the answer that made it; give it to the new member"}
    NewInvite:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: {type: string, pattern: "^[A-Za-z0-9._-]{1,63}$"}
        expiresInSeconds: {type: integer, minimum: 1, maximum: 315360000}
        uses: {type: integer, minimum: 1, maximum: 1000}
        needsApproval: {type: boolean}
        tags: {type: array, maxItems: 256, items: {type: string}}
    Network:
      type: object
      required: [name, publicKey, endpoints]
      properties:
        name: {type: string}
        publicKey: {type: string}
        endpoints: {type: array, items: {type: string}}
        store:
          type: object
          properties:
            location: {type: string}
            reachable: {type: boolean}
            appliedVersion: {type: integer}
            appliedAt: {type: integer}
            lastError: {type: string}
paths:
  /v1/network:
    get:
      summary: The network this switch serves
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/Network"}}}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/members:
    get:
      summary: List members
      parameters:
        - {name: live, in: query, schema: {type: string, enum: ["true", "false"]}}
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/MemberList"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    post:
      summary: Add a member; the running switch lets it in at once
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/NewMember"}}}
      responses:
        "201": {description: Added, content: {application/json: {schema: {$ref: "#/components/schemas/Member"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
  /v1/members/{name}:
    parameters: [{$ref: "#/components/parameters/name"}]
    get:
      summary: One member, with its live state
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/Member"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    patch:
      summary: Rename, tag, enable, disable, approve, pin MACs or fix addresses
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/MemberChange"}}}
      responses:
        "200": {description: Changed, content: {application/json: {schema: {$ref: "#/components/schemas/Member"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    delete:
      summary: Remove a member; the running switch cuts it off at once
      responses:
        "204": {description: Removed}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
  /v1/invites:
    get:
      summary: List invites (never their secrets)
      responses:
        "200": {description: OK, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Invite"}}}}}
        "401": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    post:
      summary: Make a join token
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/NewInvite"}}}
      responses:
        "201": {description: Made; the answer holds the token, once, content: {application/json: {schema: {$ref: "#/components/schemas/Invite"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
  /v1/invites/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    delete:
      summary: Revoke an invite
      responses:
        "204": {description: Revoked}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
  /v1/status:
    get:
      summary: The switch's status (as `lanyard status --json`)
      responses:
        "200": {description: OK, content: {application/json: {schema: {type: object}}}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/reload:
    post:
      summary: Read the members again now
      responses:
        "200": {description: Reloaded, content: {application/json: {schema: {type: object, properties: {result: {type: string}}}}}}
        "401": {$ref: "#/components/responses/Error"}
        "500": {$ref: "#/components/responses/Error"}
  /metrics:
    get:
      summary: Prometheus metrics
      responses:
        "200": {description: OK, content: {text/plain: {schema: {type: string}}}}
        "401": {$ref: "#/components/responses/Error"}

"""#
}
